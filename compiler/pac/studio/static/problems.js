// Why training cannot start, for a list of labels and their clips: the rule of pac.studio.store's
// training_problems, word for word (tests/fixtures/studio/training_problems.json holds the cases both run).
// Pure: no page state, so the Train view can run it on what it shows while deletes wait for their Undo.
import {plural} from './core.js';

/**
 * The reasons, one sentence each (empty when training can start).
 * @param {Array<{name: string, clips: Array<{problem: (string|null)}>}>} labels in the order shown
 * @param {number} minClips the fewest usable clips a label needs (the server's limits.min_clips)
 */
export function trainingProblems(labels, minClips) {
  const problems = labels.length < 2
    ? [`make at least 2 labels (there ${labels.length === 1 ? 'is' : 'are'} ${labels.length})`] : [];
  for (const label of labels) {
    const usable = label.clips.filter((c) => !c.problem).length;
    if (usable < minClips) {
      problems.push(`label '${label.name}' has ${plural(usable, 'usable clip')}; record or upload at ` +
        `least ${minClips} (5 or more work better)`);
    }
    for (const c of label.clips) if (c.problem) problems.push(`label '${label.name}': ${c.problem} - delete this clip`);
  }
  return problems;
}

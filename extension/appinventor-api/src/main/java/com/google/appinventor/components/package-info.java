/**
 * Compile-only surface of MIT App Inventor's extension API, written for pac (not copied).
 *
 * <p>Every type and member here is declared with exactly the signature it has upstream, and only
 * the ones pac's component uses are declared (a missing member is one pac does not use). Bodies are
 * test doubles: they let the component's unit tests run on a plain JVM and are never shipped; the
 * App Inventor runtime supplies the real classes on the phone and on the build server.
 *
 * <p>How each signature was checked: by reading the upstream source of
 * {@code mit-cml/appinventor-extensions} at commit {@code 7728c70c18c92d6edf41941a69fa3c5968ef3d61}
 * (master, 2026-03-09, whose {@code appinventor/} tree carries App Inventor's sources; the last
 * change to {@code Form.java} there is {@code 420f0a193c835999df5bba7c972f2b949447d1ab},
 * 2025-08-27), files under {@code appinventor/components/src/com/google/appinventor/components/}:
 * <ul>
 *   <li>{@code annotations/}{DesignerComponent, DesignerProperty, SimpleEvent, SimpleFunction,
 *       SimpleObject, SimpleProperty, UsesAssets, UsesPermissions, PropertyCategory}{@code .java}
 *       (element names, types, defaults and {@code @Retention}/{@code @Target});</li>
 *   <li>{@code common/}{ComponentCategory, ComponentConstants, PropertyTypeConstants}{@code .java};</li>
 *   <li>{@code runtime/}{AndroidNonvisibleComponent, AndroidViewComponent, AppInventorCompatActivity,
 *       Component, ComponentContainer, Deleteable, EventDispatcher, Form, HandlesEventDispatching,
 *       OnDestroyListener, PermissionResultHandler, VisibleComponent, WebViewer}{@code .java};</li>
 *   <li>added later for continuous listening, read in {@code mit-cml/appinventor-sources}:
 *       {@code runtime/}{OnPauseListener, OnResumeListener}{@code .java} and
 *       {@code Form.registerForOnPause(OnPauseListener component)} /
 *       {@code Form.registerForOnResume(OnResumeListener component)}, and
 *       {@code PropertyTypeConstants.PROPERTY_TYPE_FLOAT} ({@code "float"}) and
 *       {@code PROPERTY_TYPE_NON_NEGATIVE_INTEGER} ({@code "non_negative_integer"}) (not yet
 *       re-run through the surface test below);</li>
 *   <li>{@code runtime/util/}{ErrorMessages, MediaUtil, OnInitializeListener, YailList}{@code .java}.</li>
 * </ul>
 * The surface test {@code UpstreamSignaturesTest} repeats the check mechanically (136
 * declarations: types, superclasses, interfaces, constructors, methods, constants, enum constants,
 * annotation elements with their defaults, retention and targets) whenever the environment
 * variable {@code APPINVENTOR_SOURCES} points at such a checkout (the directory holding
 * {@code appinventor/}); it passed against the commit above. The upstream sources are not on any
 * package registry, so without that variable (as in CI) the test is skipped.
 *
 * <p>Deliberate omissions (binary-compatible, since pac never refers to them): superclasses and
 * interfaces pac does not use ({@code YailList extends gnu.lists.Pair implements YailObject},
 * {@code AppInventorCompatActivity implements AppCompatCallback}, {@code Form implements
 * OnGlobalLayoutListener}), members not listed above, and annotation elements pac does not set
 * ({@code UsesPermissions.constraints}).
 */
package com.google.appinventor.components;

package com.google.appinventor.components.runtime.util;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * App Inventor's list. Upstream: runtime/util/YailList.java, {@code public class YailList extends
 * gnu.lists.Pair implements YailObject} (the Kawa superclass is omitted; pac calls only the members
 * below, which YailList itself declares). The test double keeps the elements in a java.util.List.
 */
@SuppressWarnings("rawtypes")
public class YailList {
  private final List<Object> items;

  private YailList(List<Object> items) {
    this.items = items;
  }

  public static YailList makeList(Object[] objects) {
    List<Object> copy = new ArrayList<Object>();
    Collections.addAll(copy, objects);
    return new YailList(Collections.unmodifiableList(copy));
  }

  @SuppressWarnings("unchecked")
  public static YailList makeList(List vals) {
    return new YailList(Collections.unmodifiableList(new ArrayList<Object>(vals)));
  }

  public int size() {
    return items.size();
  }

  public Object getObject(int index) {
    return items.get(index);
  }

  @Override
  public String toString() {
    return items.toString();
  }
}

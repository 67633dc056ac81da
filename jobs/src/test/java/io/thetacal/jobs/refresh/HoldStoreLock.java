package io.thetacal.jobs.refresh;

import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdStore;
import java.nio.file.Path;
import java.time.Clock;

/** Takes a threshold store's lock as the given command (args: store root, command), reports it, holds it until killed. */
public final class HoldStoreLock {
  private HoldStoreLock() {
  }

  public static void main(String[] args) throws Exception {
    ThresholdStore store = new ThresholdStore(Path.of(args[0]), Clock.systemUTC());
    try (StoreLock lock = store.lock(args[1])) {
      System.out.println("LOCKED " + lock.holder().pid());
      System.out.flush();
      Thread.sleep(600_000);
    }
  }
}

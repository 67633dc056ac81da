package io.thetacal.io;

import java.nio.file.Path;
import java.time.Clock;

/** Takes a threshold store's lock, reports it and holds it until killed. */
public final class HoldStoreLock {
  private HoldStoreLock() {
  }

  public static void main(String[] args) throws Exception {
    ThresholdStore store = new ThresholdStore(Path.of(args[0]), Clock.systemUTC());
    try (StoreLock lock = store.lock("refresh")) {
      System.out.println("LOCKED " + lock.holder().pid());
      System.out.flush();
      Thread.sleep(600_000);
    }
  }
}

package io.thetacal.io;

import java.nio.file.Path;
import java.time.Clock;

/**
 * Publishes threshold versions in a loop, as scheduled refreshes would, until killed: each round takes
 * the lock, publishes a new version, every third round rolls back and promotes the newest again, and
 * prunes to three versions. Prints READY once started and one line per published version.
 */
public final class RefreshUntilKilled {
  private RefreshUntilKilled() {
  }

  public static void main(String[] args) throws Exception {
    ThresholdStore store = new ThresholdStore(Path.of(args[0]), Clock.systemUTC());
    long seed = Long.parseLong(args[1]);
    System.out.println("READY");
    System.out.flush();
    for (int round = 0; ; round++) {
      try (StoreLock lock = store.lock("refresh")) {
        String v = store.nextVersionName();
        String parent = store.current().orElse(null);
        store.publish(lock, ThresholdStoreTest.candidate(v, seed + round),
            ThresholdStoreTest.record(v, parent, true));
        if (round % 3 == 2) {
          store.rollback(lock);
          store.promote(lock, v);
        }
        store.prune(lock, 3);
        System.out.println("PUBLISHED " + v);
        System.out.flush();
      }
    }
  }
}

package io.thetacal.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * Peak heap of this JVM: the largest heap occupancy seen right after a collection (live data plus
 * what the collector kept) and the sum of the heap pools' peak usages (an upper bound that includes
 * garbage not yet collected). Start it before the work, read it after.
 */
public final class PeakHeap {
  private volatile long maxAfterGc;
  private volatile long maxBeforeGc;

  public PeakHeap() {
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) gc).addNotificationListener((n, h) -> {
        if (!n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
          return;
        }
        var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo();
        long after = info.getMemoryUsageAfterGc().values().stream().mapToLong(MemoryUsage::getUsed).sum();
        long before = info.getMemoryUsageBeforeGc().values().stream().mapToLong(MemoryUsage::getUsed).sum();
        synchronized (this) {
          maxAfterGc = Math.max(maxAfterGc, after);
          maxBeforeGc = Math.max(maxBeforeGc, before);
        }
      }, null, null);
    }
  }

  /** Heap used now, after a full collection. */
  public static long liveNow() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  public long maxAfterGc() {
    return maxAfterGc;
  }

  public long maxBeforeGc() {
    return maxBeforeGc;
  }

  /** Σ of the heap pools' peak usages since start (or the last reset). */
  public static long poolPeakSum() {
    long s = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        s += p.getPeakUsage().getUsed();
      }
    }
    return s;
  }

  public static void resetPoolPeaks() {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        p.resetPeakUsage();
      }
    }
  }
}

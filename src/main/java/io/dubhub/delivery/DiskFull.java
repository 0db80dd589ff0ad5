package io.dubhub.delivery;

import io.dubhub.job.Job;
import io.dubhub.job.Stage;
import io.dubhub.provider.ProviderException;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * A write that failed because the disk is full (ENOSPC) or a quota is used up (EDQUOT). That is no
 * provider's fault and no reason to spend a job's retry attempts: the job waits and tries again
 * until ops have made room, and says where.
 */
public final class DiskFull {

    /** How often a job held up by a full disk tries again (sooner where the longest backoff is shorter). */
    public static final Duration RECHECK = Duration.ofSeconds(30);

    private DiskFull() {
    }

    public static boolean is(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null) {
                String lower = m.toLowerCase(Locale.ROOT);
                if (lower.contains("no space left on device") || lower.contains("disk quota exceeded")) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The WAIT that holds the job: "the disk holding … is full (…); {@code what} is tried again every 30 s".
     * {@code maxBackoff} is hub.poll.max-backoff: the recheck is never slower than a retry would be.
     */
    public static ProviderException hold(Job job, Stage stage, Path where, String what, Duration maxBackoff) {
        Duration recheck = maxBackoff.compareTo(RECHECK) < 0 ? maxBackoff : RECHECK;
        return ProviderException.waitUntil(job.provider(), stage, 0, Instant.now().plus(recheck),
                describe(where) + "; " + what + " is tried again every " + recheck.toSeconds() + " s");
    }

    /** "the disk holding /srv/data/.work/j-1 is full (12 KiB free of 16 GiB, No space left on device)". */
    public static String describe(Path where) {
        Path p = where.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        String room = "";
        if (p != null) {
            try {
                FileStore store = Files.getFileStore(p);
                room = size(store.getUsableSpace()) + " free of " + size(store.getTotalSpace()) + ", ";
            } catch (IOException ignored) {
                // the figures are a courtesy
            }
        }
        return "the disk holding " + where.toAbsolutePath() + " is full (" + room + "No space left on device)";
    }

    static String size(long bytes) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " bytes" : String.format(Locale.ROOT, v >= 10 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }
}

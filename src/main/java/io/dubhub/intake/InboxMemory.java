package io.dubhub.intake;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Named;
import org.apache.camel.spi.IdempotentRepository;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which inbox files the watch routes have already looked at (key: path-size-modified), so a
 * file is hashed once, not on every scan. The ledger, not this memory, guarantees "never
 * submitted twice"; this only saves work. When a job ends and its source leaves the inbox, its
 * path is forgotten, so the same file dropped again is looked at again (and explained as a
 * duplicate) even when its size and date are unchanged.
 */
@ApplicationScoped
@Named("inboxMemory")
public class InboxMemory implements IdempotentRepository {

    private static final int MAX_ENTRIES = 100_000;

    private final Map<String, Boolean> seen = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    @Override
    public synchronized boolean add(String key) {
        return seen.put(key, Boolean.TRUE) == null;
    }

    @Override
    public synchronized boolean contains(String key) {
        return seen.containsKey(key);
    }

    @Override
    public synchronized boolean remove(String key) {
        return seen.remove(key) != null;
    }

    @Override
    public boolean confirm(String key) {
        return true;
    }

    @Override
    public synchronized void clear() {
        seen.clear();
    }

    /** Forgets every version of the file at this absolute path. */
    public synchronized void forget(String absolutePath) {
        seen.keySet().removeIf(k -> k.startsWith(absolutePath + "|"));
    }

    @Override
    public void start() {
        // nothing to open: memory only
    }

    @Override
    public void stop() {
        // nothing to close
    }
}

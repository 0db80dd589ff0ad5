package io.dubhub.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.UUID;

/**
 * Gives each test run of the app its own data folder (inbox, outbox, ledger), so a ledger left
 * by an earlier run cannot turn this run's files into "already processed" duplicates.
 */
public class FreshDataDir implements QuarkusTestResourceLifecycleManager {

    public static final Path ROOT = Path.of("target", "test-data");

    @Override
    public Map<String, String> start() {
        Path dir = ROOT.resolve(UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return Map.of("hub.data-dir", dir.toString());
    }

    @Override
    public void stop() {
        // kept for post-mortems; target/ is cleaned by the build
    }

    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}

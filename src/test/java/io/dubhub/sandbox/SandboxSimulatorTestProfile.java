package io.dubhub.sandbox;

import io.quarkus.test.junit.QuarkusTestProfile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The sandbox switched on, with its own data directory and a fixed free port: presigned URLs
 * carry hub.public-base-url, so the port has to be known before Quarkus starts.
 */
public class SandboxSimulatorTestProfile implements QuarkusTestProfile {

    static final int PORT = freePort();
    static final Path DATA_DIR = tempDir();

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "hub.sandbox.enabled", "true",
                "hub.sandbox.stage-duration", "200ms",
                "hub.data-dir", DATA_DIR.toString(),
                "hub.public-base-url", "http://localhost:" + PORT,
                "quarkus.http.test-port", Integer.toString(PORT),
                "quarkus.devservices.enabled", "false");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path tempDir() {
        try {
            Path dir = Files.createTempDirectory("dubhub-sandbox-test");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}

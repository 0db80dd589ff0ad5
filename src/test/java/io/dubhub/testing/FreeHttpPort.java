package io.dubhub.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;

/**
 * Runs the app under test on a free port instead of the fixed %test port, so test runs of
 * several worktrees on one machine do not collide; the simulators' public base URL follows.
 */
public class FreeHttpPort implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of("quarkus.http.test-port", Integer.toString(port), "hub.public-base-url", "http://127.0.0.1:" + port);
    }

    @Override
    public void stop() {
    }
}

package io.dubhub.testing;

import org.eclipse.microprofile.config.spi.ConfigSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;
import java.util.Set;

/**
 * Tests serve the simulators on a port chosen when the test JVM starts, not a fixed one, so two
 * suites on one machine (CI and a developer, two worktrees) never collide. The hub must know the
 * port up front because providers (the simulators) are reached through hub.public-base-url.
 */
public class FreePortConfigSource implements ConfigSource {

    private static final int PORT = freePort();
    private static final Map<String, String> VALUES = Map.of(
            "%test.quarkus.http.test-port", Integer.toString(PORT),
            "%test.hub.public-base-url", "http://127.0.0.1:" + PORT);

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Set<String> getPropertyNames() {
        return VALUES.keySet();
    }

    @Override
    public String getValue(String name) {
        return VALUES.get(name);
    }

    @Override
    public String getName() {
        return "dubhub-test-free-port";
    }

    @Override
    public int getOrdinal() {
        return 275; // above application.properties (250), below system properties (400)
    }
}

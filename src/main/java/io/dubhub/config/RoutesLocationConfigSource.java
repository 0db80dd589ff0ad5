package io.dubhub.config;

import org.eclipse.microprofile.config.spi.ConfigSource;

import java.util.Map;
import java.util.Set;

/**
 * Where Camel reads routes from at start: the pipeline and provider routes that ship in the jar.
 * The watch routes ops edit ({@code <config dir>/routes/*.yaml}, HUB_CONFIG_DIR, default ./config)
 * are not loaded by Camel itself: {@link io.dubhub.routes.RouteFiles} validates and applies them
 * once Camel has started, and again whenever they change, so a broken file never stops the hub
 * nor is half-applied. Without that folder it applies the built-in copy of the shipped config/routes.
 */
public class RoutesLocationConfigSource implements ConfigSource {

    /** Leaf folders only: in a packaged jar Camel does not descend into sub-folders, in a build tree it does. */
    static final String SHIPPED = "classpath:routes/pipeline/*.camel.yaml,classpath:routes/providers/*.camel.yaml";

    private final Map<String, String> values;

    public RoutesLocationConfigSource() {
        values = Map.of("camel.main.routes-include-pattern", SHIPPED);
    }

    @Override
    public Set<String> getPropertyNames() {
        return values.keySet();
    }

    @Override
    public String getValue(String name) {
        return values.get(name);
    }

    @Override
    public String getName() {
        return "dubhub-routes-location";
    }

    @Override
    public int getOrdinal() {
        return 260; // above application.properties, below system properties and the environment
    }
}

package io.dubhub.config;

import org.eclipse.microprofile.config.spi.ConfigSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Where Camel reads routes from. The pipeline and provider routes ship in the jar; the watch
 * folders come from {@code <config dir>/routes/*.yaml} (HUB_CONFIG_DIR, default ./config), which ops
 * edit. A hub started where that folder does not exist runs the built-in copy of the shipped
 * config/routes (watching data/inbox/<provider>/) instead of failing to start.
 * Computed here, before Camel reads its configuration, because the choice decides what Camel loads.
 */
public class RoutesLocationConfigSource implements ConfigSource {

    /** Leaf folders only: in a packaged jar Camel does not descend into sub-folders, in a build tree it does. */
    static final String SHIPPED = "classpath:routes/pipeline/*.camel.yaml,classpath:routes/providers/*.camel.yaml";
    static final String BUILT_IN_CONFIG = "classpath:default-config/routes/*.yaml";

    private final Map<String, String> values;

    public RoutesLocationConfigSource() {
        Path routes = configDir().resolve("routes");
        String watch = Files.isDirectory(routes) ? "file:" + routes + "/*.yaml" : BUILT_IN_CONFIG;
        values = Map.of("camel.main.routes-include-pattern", SHIPPED + "," + watch);
    }

    public static Path configDir() {
        String dir = System.getProperty("hub.config-dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("HUB_CONFIG_DIR");
        }
        return Path.of(dir == null || dir.isBlank() ? "config" : dir);
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

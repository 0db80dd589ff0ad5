package io.dubhub.routes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * YAML files that ship inside the hub (route templates, provider routes, the built-in copy of
 * config/routes), read from the classpath by folder. A folder is found through one file known to
 * be in it, because class loaders (Quarkus' runner among them) do not all list folders.
 */
public final class ShippedRoutes {

    public static final String PIPELINE = "routes/pipeline";
    public static final String PROVIDERS = "routes/providers";
    public static final String BUILT_IN_CONFIG = "default-config/routes";

    private ShippedRoutes() {
    }

    /** File name → content of every file ending in {@code suffix} in the classpath folder that holds {@code anchor}. */
    public static Map<String, String> read(String folder, String anchor, String suffix) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ShippedRoutes.class.getClassLoader();
        URL url = loader.getResource(folder + "/" + anchor);
        if (url == null) {
            return Map.of();
        }
        try {
            if ("file".equals(url.getProtocol())) {
                return list(Path.of(url.toURI()).getParent(), suffix);
            }
            if ("jar".equals(url.getProtocol())) {
                String s = url.toString();
                URI jar = URI.create(s.substring(0, s.indexOf("!/")));
                FileSystem fs;
                boolean close = false;
                try {
                    fs = FileSystems.newFileSystem(jar, Map.of());
                    close = true;
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(jar);
                }
                try {
                    return list(fs.getPath(folder), suffix);
                } finally {
                    if (close) {
                        fs.close();
                    }
                }
            }
            // an unknown kind of class path: at least the anchor itself
            try (InputStream in = url.openStream()) {
                return Map.of(anchor, new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + folder + " from " + url, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> list(Path dir, String suffix) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(suffix)).toList()) {
                out.put(f.getFileName().toString(), Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    /** The templates of the shipped pipeline and provider routes (what a running hub would have). */
    public static Map<String, RouteTemplate> templates() {
        Map<String, String> yaml = new TreeMap<>(read(PIPELINE, "intake.camel.yaml", ".camel.yaml"));
        read(PROVIDERS, "dublab.camel.yaml", ".camel.yaml").forEach((name, content) -> yaml.put("providers/" + name, content));
        return RouteTemplates.fromYaml(yaml.values());
    }

    /** Provider ids, one per routes/providers/<id>.camel.yaml (each provider ships its routes there). */
    public static Set<String> providers() {
        Set<String> out = new TreeSet<>();
        read(PROVIDERS, "dublab.camel.yaml", ".camel.yaml").keySet()
                .forEach(name -> out.add(name.substring(0, name.length() - ".camel.yaml".length())));
        return out;
    }
}

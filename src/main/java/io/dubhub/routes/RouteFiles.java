package io.dubhub.routes;

import io.dubhub.config.HubConfig;
import io.dubhub.intake.BucketIntake;
import io.dubhub.provider.ProviderRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The watch routes of {@code <HUB_CONFIG_DIR>/routes/*.yaml}, applied file by file while the hub
 * runs. Every check interval the folder is read; a file whose content changed (and then stayed the
 * same for one more interval, so a half-saved file is not taken) is validated first and applied
 * only whole: its previous routes are removed and the new ones added through Camel's RoutesLoader;
 * if Camel still refuses the new version, the previous one is put back. A broken file keeps its
 * previous routes running and is reported (log, {@code /q/health/ready}, {@code GET /api/routes}).
 * A removed file's routes are stopped and removed. Polling (rather than a WatchService) because
 * it also sees edits on network and container mounts (Kubernetes ConfigMaps swap a symlink), and
 * the files are a few kilobytes.
 * <p>
 * Without a routes folder the built-in copy of the shipped config/routes is applied once, through
 * the same validation, and nothing is watched.
 */
@ApplicationScoped
public class RouteFiles {

    private static final Logger LOG = Logger.getLogger(RouteFiles.class);
    static final String SUFFIX = ".yaml";

    @Inject
    CamelContext camel;

    @Inject
    HubConfig config;

    @Inject
    ProviderRegistry providers;

    @Inject
    BucketIntake buckets;

    private final Map<String, FileState> files = new TreeMap<>();
    /** Content hash seen on the previous check for files not yet settled: applied once it is seen twice in a row. */
    private final Map<String, String> settling = new HashMap<>();
    private ScheduledExecutorService checker;
    private Path folder;
    private boolean builtIn;
    private boolean folderMissingReported;
    private volatile boolean initialDone;
    private int waits;

    /** What the hub knows of one routes file. Guarded by the RouteFiles monitor. */
    static final class FileState {
        final String name;
        final String displayName;
        String seenSha256;
        Instant checkedAt;
        RouteFileCheck lastCheck;
        String appliedSha256;
        String appliedContent;
        Instant appliedAt;
        List<String> appliedRouteIds = List.of();

        FileState(String name, String displayName) {
            this.name = name;
            this.displayName = displayName;
        }
    }

    void start(@Observes StartupEvent event) {
        folder = Path.of(config.configDir()).resolve("routes");
        builtIn = !Files.isDirectory(folder);
        if (builtIn) {
            LOG.warnf("No %s here: running the built-in watch routes (data/inbox/<provider>/). Copy config/routes/ from the "
                    + "dubhub repository there (or set HUB_CONFIG_DIR) to change them.", folder.toAbsolutePath().normalize());
        } else {
            LOG.infof("Watch routes from %s (checked for changes every %s)", folder.toAbsolutePath().normalize(),
                    config.routes().checkInterval());
        }
        checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "route-files");
            t.setDaemon(true);
            return t;
        });
        checker.execute(this::tick);
    }

    /**
     * Camel Quarkus starts the CamelContext around the StartupEvent: the first check waits (50 ms steps)
     * until Camel has started, then applies every file; later checks look for changes.
     */
    private void tick() {
        long every = Math.max(50, config.routes().checkInterval().toMillis());
        long next = every;
        try {
            if (!camel.getStatus().isStarted()) {
                next = 50;
                if (++waits % 100 == 0) {
                    LOG.infof("Waiting for Camel to start before applying the routes files (Camel is %s)", camel.getStatus());
                }
            } else if (!initialDone) {
                check(true);
                initialDone = true;
                if (builtIn) {
                    return; // the built-in copy cannot change
                }
            } else {
                check(false);
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.errorf(e, "Checking %s failed; trying again in %d ms", folder, every);
        }
        if (!checker.isShutdown()) {
            checker.schedule(this::tick, next, TimeUnit.MILLISECONDS);
        }
    }

    /** True once every routes file present at start has been validated and applied (or reported). */
    public boolean initialLoadDone() {
        return initialDone;
    }

    void stop(@Observes ShutdownEvent event) {
        if (checker != null) {
            checker.shutdownNow();
        }
    }

    /** One pass over the routes folder: removed files first (their route ids become free), then new and changed ones. */
    synchronized void check(boolean initial) {
        Map<String, String> current = read();
        if (current == null) {
            return;
        }
        for (String gone : new ArrayList<>(files.keySet())) {
            if (!current.containsKey(gone)) {
                remove(files.get(gone));
            }
        }
        settling.keySet().retainAll(current.keySet());
        current.forEach((name, content) -> {
            String sha = RouteFileValidator.sha256(content);
            FileState state = files.get(name);
            if (state != null && sha.equals(state.seenSha256)) {
                return;
            }
            if (!initial && !sha.equals(settling.put(name, sha))) {
                return; // changed since the last look: maybe still being written; taken on the next check if it stays so
            }
            settling.remove(name);
            if (state == null) {
                state = new FileState(name, displayName(name));
                files.put(name, state);
            }
            process(state, content, sha);
        });
    }

    /** The folder's files by name, or null when the folder vanished while running (then nothing is changed). */
    private Map<String, String> read() {
        if (builtIn) {
            return ShippedRoutes.read(ShippedRoutes.BUILT_IN_CONFIG, "inbox.yaml", SUFFIX);
        }
        if (!Files.isDirectory(folder)) {
            if (!folderMissingReported) {
                LOG.errorf("%s is gone; the watch routes stay as they are until it is back", folder.toAbsolutePath().normalize());
                folderMissingReported = true;
            }
            return null;
        }
        folderMissingReported = false;
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> list = Files.list(folder)) {
            for (Path f : list.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && !p.getFileName().toString().startsWith("."))
                    .filter(Files::isRegularFile).toList()) {
                out.put(f.getFileName().toString(), Files.readString(f, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            LOG.errorf("Cannot read %s (%s); the watch routes stay as they are", folder, e.getMessage());
            return null;
        }
        return out;
    }

    private String displayName(String name) {
        return builtIn ? "built-in " + ShippedRoutes.BUILT_IN_CONFIG + "/" + name : folder.resolve(name).toString();
    }

    private void process(FileState state, String content, String sha) {
        RouteFileCheck check = validator().validate(state.displayName, content, takenRouteIds(state.name));
        state.seenSha256 = sha;
        state.checkedAt = Instant.now();
        state.lastCheck = check;
        check.warnings().forEach(w -> LOG.warn(w.describe(state.displayName)));
        if (!check.valid()) {
            check.errors().forEach(e -> LOG.error(e.describe(state.displayName)));
            LOG.errorf("%s (sha256 %s) NOT applied: %s", state.displayName, sha, keptDescription(state));
            return;
        }
        apply(state, content, check);
    }

    private void apply(FileState state, String content, RouteFileCheck check) {
        List<String> previous = state.appliedRouteIds;
        String previousSha256 = state.appliedSha256;
        stopAndRemove(previous);
        try {
            PluginHelper.getRoutesLoader(camel).loadRoutes(ResourceHelper.fromString(state.displayName, content));
            List<String> missing = check.routeIds().stream().filter(id -> camel.getRoute(id) == null).toList();
            if (!missing.isEmpty()) {
                throw new IllegalStateException("Camel did not create the routes " + missing);
            }
        } catch (Exception e) {
            stopAndRemove(check.routeIds().stream().filter(id -> camel.getRoute(id) != null).toList());
            List<RouteProblem> problems = new ArrayList<>(check.problems());
            problems.add(RouteProblem.error(null, "Camel refused this version: " + rootMessage(e)));
            state.lastCheck = new RouteFileCheck(check.file(), check.sha256(), check.routes(), problems);
            restorePrevious(state);
            LOG.errorf("%s (sha256 %s) NOT applied, Camel refused it: %s; %s", state.displayName, check.sha256(), rootMessage(e),
                    keptDescription(state));
            return;
        }
        state.appliedSha256 = check.sha256();
        state.appliedContent = content;
        state.appliedAt = Instant.now();
        state.appliedRouteIds = check.routeIds();
        List<String> dropped = previous.stream().filter(id -> !state.appliedRouteIds.contains(id)).toList();
        LOG.infof("Applied %s (sha256 %s%s): routes %s%s", state.displayName, state.appliedSha256,
                previousSha256 == null ? "" : ", replacing sha256 " + previousSha256, state.appliedRouteIds,
                dropped.isEmpty() ? "" : "; removed " + dropped);
    }

    /** After Camel refused a new version: the previous routes of the file run again, so nothing is half-applied. */
    private void restorePrevious(FileState state) {
        if (state.appliedContent == null) {
            return;
        }
        try {
            PluginHelper.getRoutesLoader(camel).loadRoutes(ResourceHelper.fromString(state.displayName, state.appliedContent));
        } catch (Exception e) {
            LOG.errorf("Could not restore the previous routes %s of %s: %s", state.appliedRouteIds, state.displayName, rootMessage(e));
            stopAndRemove(state.appliedRouteIds.stream().filter(id -> camel.getRoute(id) != null).toList());
            state.appliedRouteIds = List.of();
            state.appliedContent = null;
        }
    }

    private void remove(FileState state) {
        stopAndRemove(state.appliedRouteIds);
        files.remove(state.name);
        if (state.appliedSha256 == null) {
            LOG.infof("%s was removed (none of its routes ran)", state.displayName);
        } else {
            LOG.infof("%s was removed: stopped and removed its routes %s (last applied sha256 %s)", state.displayName,
                    state.appliedRouteIds, state.appliedSha256);
        }
    }

    private void stopAndRemove(List<String> routeIds) {
        for (String id : routeIds) {
            try {
                if (camel.getRoute(id) != null) {
                    camel.getRouteController().stopRoute(id, 30, TimeUnit.SECONDS);
                    camel.removeRoute(id);
                }
            } catch (Exception e) {
                LOG.errorf("Could not stop route %s: %s", id, rootMessage(e));
            }
        }
    }

    private static String keptDescription(FileState state) {
        return state.appliedSha256 == null
                ? "none of its routes run until it is fixed"
                : "its previous version (sha256 " + state.appliedSha256 + ", applied " + state.appliedAt + ") keeps running: "
                + state.appliedRouteIds;
    }

    /** Every route id in Camel, with who owns it, except those of {@code exceptFile} (its new version replaces them). */
    private Map<String, String> takenRouteIds(String exceptFile) {
        Map<String, String> owners = new HashMap<>();
        for (FileState f : files.values()) {
            f.appliedRouteIds.forEach(id -> owners.put(id, f.name.equals(exceptFile) ? null : f.displayName));
        }
        Map<String, String> taken = new HashMap<>();
        for (Route r : camel.getRoutes()) {
            String owner = owners.containsKey(r.getRouteId()) ? owners.get(r.getRouteId()) : "a built-in route of the hub";
            if (owner != null) {
                taken.put(r.getRouteId(), owner);
            }
        }
        return taken;
    }

    RouteFileValidator validator() {
        return new RouteFileValidator(RouteTemplates.fromCamel(camel), new LiveEnvironment());
    }

    /** Validates a file's content as if it were {@code <routes>/fileName} (its own applied route ids are then no conflict). */
    public RouteFileCheck validate(String content, String fileName) {
        String name = fileName == null || fileName.isBlank() ? "(posted)" : fileName;
        Map<String, String> taken;
        synchronized (this) {
            taken = takenRouteIds(name);
        }
        // outside the lock: a bucket check may wait on S3, and the status and the checker must not
        return validator().validate(name, content, taken);
    }

    /** What {@code GET /api/routes} shows: every file, what of it runs, and what is wrong with it. */
    public synchronized List<Map<String, Object>> status() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (FileState f : files.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", f.displayName);
            m.put("state", f.lastCheck != null && !f.lastCheck.valid() ? "broken" : "applied");
            m.put("sha256", f.seenSha256);
            m.put("appliedSha256", f.appliedSha256);
            m.put("appliedAt", f.appliedAt == null ? null : f.appliedAt.toString());
            m.put("checkedAt", f.checkedAt == null ? null : f.checkedAt.toString());
            List<Map<String, Object>> routes = new ArrayList<>();
            for (String id : f.appliedRouteIds) {
                ServiceStatus s = camel.getRouteController().getRouteStatus(id);
                routes.add(Map.of("routeId", id, "status", s == null ? "missing" : s.name()));
            }
            m.put("routes", routes);
            m.put("errors", f.lastCheck == null ? List.of() : f.lastCheck.errors());
            m.put("warnings", f.lastCheck == null ? List.of() : f.lastCheck.warnings());
            out.add(m);
        }
        return out;
    }

    /** File → its first error, for files whose latest version is not applied. */
    public synchronized Map<String, String> brokenFiles() {
        Map<String, String> out = new TreeMap<>();
        files.values().stream().filter(f -> f.lastCheck != null && !f.lastCheck.valid())
                .forEach(f -> out.put(f.displayName, f.lastCheck.errors().get(0).describe(f.displayName) + "; " + keptDescription(f)));
        return out;
    }

    public synchronized Map<String, List<String>> appliedRoutes() {
        Map<String, List<String>> out = new TreeMap<>();
        files.values().forEach(f -> out.put(f.displayName, f.appliedRouteIds));
        return out;
    }

    public Path folder() {
        return folder;
    }

    public boolean builtIn() {
        return builtIn;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }

    /** Validation against the running hub: its providers, its placeholders, its S3 account. */
    private final class LiveEnvironment implements RouteEnvironment {
        @Override
        public boolean live() {
            return true;
        }

        @Override
        public Set<String> providers() {
            return providers.all().keySet();
        }

        @Override
        public Optional<String> providerDisabled(String provider) {
            return providers.find(provider).filter(p -> !p.enabled()).map(p -> p.missingConfig().orElse("?"));
        }

        @Override
        public String resolvePlaceholders(String value) {
            try {
                return camel.resolvePropertyPlaceholders(value);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }

        @Override
        public Optional<String> bucketProblem(String bucket, String prefix) {
            return buckets.probe(bucket, prefix);
        }
    }
}

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.sandbox.SyntheticVideo;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * N files dropped at once into one dublab inbox, watched by one hub or by several replicas on one
 * PostgreSQL ledger, against the dublab simulator running in its own sandbox process (the
 * provider's view, like CrashRecoveryIT and TwoReplicasIT). Prints wall time to all delivered,
 * throughput, the delivery curve (a long tail shows there), jobs in flight, heap, threads and
 * RSS at peak, and ledger statements per poll cycle idle and under load. Then checks that every
 * file became exactly one job and one dublab create. A program, not a test: these machines are
 * shared and noisy.
 *
 * Run after `./mvnw -B -DskipTests package`, from the project folder (the hubs read config/routes):
 *   java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" bench/ScaleBench.java \
 *       [files=500] [--replicas 1] [--ledger h2|postgres] [--stage 2s] [--heap 256m] [--timeout 1200] [--keep]
 * Two or more replicas always use PostgreSQL at 127.0.0.1:5432 (trust auth; a fresh database per
 * run, dropped at the end).
 */
public class ScaleBench {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final Pattern SUBMITTED = Pattern.compile("Job (\\S+) submitted to dublab");
    static final List<String> ACTIVE = List.of("received", "submitting", "processing", "stuck", "downloading");
    static final long FILE_BYTES = 128 * 1024;
    static final Duration IDLE_WINDOW = Duration.ofSeconds(15);

    record Hub(String name, int port, Process process, Path log) {
    }

    /** One scrape of a hub's /q/metrics, the figures this bench follows. */
    record Scrape(double heapBytes, double liveThreads, double statements, double pollCycles, Map<String, Double> jobs) {
        double inFlight() {
            return ACTIVE.stream().mapToDouble(s -> jobs.getOrDefault(s, 0.0)).sum();
        }

        double known() {
            return jobs.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    /** Peaks per replica while the drop is worked off. */
    static final class Peaks {
        double heap;
        double threads;
        long rssKiB;
    }

    public static void main(String[] args) throws Exception {
        int files = 500;
        int replicas = 1;
        String ledgerKind = null;
        Duration stage = Duration.ofSeconds(2);
        String heap = "256m";
        long timeoutSeconds = 1200;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--replicas" -> replicas = Integer.parseInt(args[++i]);
                case "--ledger" -> ledgerKind = args[++i];
                case "--stage" -> stage = Duration.parse("PT" + args[++i].toUpperCase());
                case "--heap" -> heap = args[++i];
                case "--timeout" -> timeoutSeconds = Long.parseLong(args[++i]);
                case "--keep" -> keep = true;
                default -> files = Integer.parseInt(args[i]);
            }
        }
        if (ledgerKind == null) {
            ledgerKind = replicas > 1 ? "postgres" : "h2";
        }
        if (replicas > 1 && !ledgerKind.equals("postgres")) {
            throw new IllegalArgumentException("several replicas share a ledger only on PostgreSQL (--ledger postgres)");
        }
        if (files > 1000) {
            throw new IllegalArgumentException("at most 1000 files: the job API lists at most 1000 jobs");
        }

        Path work = Files.createDirectories(Path.of("target", "scale-bench", "run-" + System.currentTimeMillis())).toAbsolutePath();
        Path shared = work.resolve("shared");
        Path inbox = Files.createDirectories(shared.resolve("inbox/dublab"));
        List<Process> started = new ArrayList<>();
        PostgresDatabase database = null;
        try {
            // the provider, in its own process so every replica sees the same dublab
            int simPort = freePort();
            Hub simulator = start("simulator", simPort, work, heap, List.of("-Dquarkus.profile=sandbox",
                    "-Dhub.data-dir=" + work.resolve("simulator"), "-Dhub.sandbox.demo-inbox=false",
                    "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of());
            started.add(simulator.process());
            awaitLive(simulator);
            post(simulator, "/sandbox/dublab/_control/reset");
            post(simulator, "/sandbox/dublab/_control/stage-duration?millis=" + stage.toMillis());
            post(simulator, "/sandbox/dublab/_control/credits?value=100000000");

            Map<String, String> env = new HashMap<>(Map.of(
                    "HUB_DATA_DIR", shared.toString(),
                    "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:" + simPort + "/sandbox/dublab/api/v1",
                    "HUB_PROVIDERS_DUBLAB_API_KEY", "sandbox-dublab-key",
                    // the sandbox profile's figures: polls every 2 s, claims every 1 s
                    "HUB_PROVIDERS_DUBLAB_POLL_INTERVAL", "2s",
                    "HUB_POLL_TICK", "1s"));
            if (ledgerKind.equals("postgres")) {
                database = PostgresDatabase.create();
                env.put("HUB_LEDGER_JDBC_URL", database.url());
                env.put("HUB_LEDGER_USERNAME", database.user());
            }
            List<Hub> hubs = new ArrayList<>();
            for (int r = 0; r < replicas; r++) {
                String name = "replica-" + (char) ('a' + r);
                Map<String, String> replicaEnv = new HashMap<>(env);
                replicaEnv.put("HUB_INSTANCE_ID", name);
                Hub hub = start(name, freePort(), work, heap, List.of(), replicaEnv);
                started.add(hub.process());
                hubs.add(hub);
            }
            for (Hub hub : hubs) {
                awaitLive(hub);
            }

            // idle: nothing to do but the poll timer, lease renewal and this bench's scrapes
            Thread.sleep(5000);
            List<Scrape> idleStart = scrapeAll(hubs);
            Thread.sleep(IDLE_WINDOW.toMillis());
            List<Scrape> idleEnd = scrapeAll(hubs);
            long[] idleRss = hubs.stream().mapToLong(h -> rssKiB(h.process().pid(), "VmRSS")).toArray();

            // N distinct files (the last 8 bytes of the zero payload carry the index, so every SHA-256 differs)
            Path staging = Files.createDirectories(shared.resolve(".staging"));
            Set<String> hashes = new HashSet<>();
            List<Path> staged = new ArrayList<>();
            for (int i = 1; i <= files; i++) {
                Path file = staging.resolve(String.format("talk-%04d.mp4", i));
                SyntheticVideo.writeMp4(file, Duration.ofSeconds(30), 640, 360, FILE_BYTES);
                try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                    raf.seek(FILE_BYTES - 8);
                    raf.writeLong(i);
                }
                hashes.add(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
                staged.add(file);
            }
            if (hashes.size() != files) {
                throw new IllegalStateException("generated files are not all distinct: " + hashes.size() + " hashes for " + files);
            }

            long[] logOffsets = new long[replicas];
            for (int r = 0; r < replicas; r++) {
                logOffsets[r] = Files.size(hubs.get(r).log());
            }
            long t0 = System.nanoTime();
            for (Path file : staged) {
                Files.move(file, inbox.resolve(file.getFileName()), StandardCopyOption.ATOMIC_MOVE);
            }
            double dropSeconds = (System.nanoTime() - t0) / 1e9;

            List<Peaks> peaks = new ArrayList<>();
            for (int r = 0; r < replicas; r++) {
                peaks.add(new Peaks());
            }
            double peakInFlight = 0;
            double allKnownAt = -1;
            TreeMap<Integer, Double> curve = new TreeMap<>();
            int[] marks = {1, files / 10, files / 4, files / 2, files * 9 / 10, files * 99 / 100, files};
            int delivered = 0;
            long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
            while (delivered < files && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                for (int r = 0; r < replicas; r++) {
                    Hub hub = hubs.get(r);
                    if (!hub.process().isAlive()) {
                        throw new IllegalStateException(hub.name() + " exited; see " + hub.log());
                    }
                    Scrape s = scrape(hub);
                    Peaks p = peaks.get(r);
                    p.heap = Math.max(p.heap, s.heapBytes());
                    p.threads = Math.max(p.threads, s.liveThreads());
                    p.rssKiB = Math.max(p.rssKiB, rssKiB(hub.process().pid(), "VmRSS"));
                    if (r == 0) {
                        // dubhub_jobs is read from the ledger, so one replica's gauge is the whole fleet's
                        peakInFlight = Math.max(peakInFlight, s.inFlight());
                        if (allKnownAt < 0 && s.known() >= files) {
                            allKnownAt = (System.nanoTime() - t0) / 1e9;
                        }
                    }
                }
                delivered = countManifests(shared.resolve("outbox"));
                double now = (System.nanoTime() - t0) / 1e9;
                for (int m : marks) {
                    if (m > 0 && delivered >= m) {
                        curve.putIfAbsent(m, now);
                    }
                }
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            List<Scrape> loadEnd = scrapeAll(hubs);

            // ------------------------------------------------------------ figures
            System.out.printf("%n== ScaleBench: %d files, %d replica(s), %s ledger, simulated stages %s, heap cap -Xmx%s, %d cores ==%n",
                    files, replicas, ledgerKind, stage, heap, Runtime.getRuntime().availableProcessors());
            System.out.printf("load average at end    %s%n", Files.readString(Path.of("/proc/loadavg")).trim());
            System.out.printf("drop (N renames)       %.2f s%n", dropSeconds);
            if (delivered < files) {
                System.out.printf("NOT ALL DELIVERED      %d of %d after %.0f s (timeout)%n", delivered, files, wall);
            }
            System.out.printf("all jobs in ledger     %s%n", allKnownAt < 0 ? "never (sampled)" : String.format("%.1f s after the drop", allKnownAt));
            System.out.printf("all delivered          %.1f s after the drop (wall)%n", wall);
            System.out.printf("throughput             %.1f jobs/min%n", delivered / wall * 60);
            StringBuilder c = new StringBuilder();
            curve.forEach((n, at) -> c.append(String.format("%d@%.0fs ", n, at)));
            System.out.printf("delivered curve        %s%n", c.toString().trim());
            System.out.printf("peak jobs in flight    %.0f (received..downloading, ledger-wide, sampled every 1 s)%n", peakInFlight);
            double fleetLoadStatements = 0;
            for (int r = 0; r < replicas; r++) {
                Hub hub = hubs.get(r);
                Peaks p = peaks.get(r);
                Scrape i0 = idleStart.get(r);
                Scrape i1 = idleEnd.get(r);
                Scrape l1 = loadEnd.get(r);
                double idleCycles = i1.pollCycles() - i0.pollCycles();
                double loadCycles = l1.pollCycles() - i1.pollCycles();
                double loadStatements = l1.statements() - i1.statements();
                String log = Files.readString(hub.log());
                System.out.printf("-- %s (pid %d)%n", hub.name(), hub.process().pid());
                System.out.printf("   jobs submitted       %d (\"submitted to dublab\" lines in its log)%n", count(SUBMITTED, log));
                System.out.printf("   peak heap used       %.0f MiB (sum of heap pools, sampled)%n", p.heap / (1 << 20));
                System.out.printf("   peak live threads    %.0f%n", p.threads);
                System.out.printf("   RSS idle / peak      %d / %d MiB sampled; high-water mark %d MiB%n",
                        idleRss[r] / 1024, p.rssKiB / 1024, rssKiB(hub.process().pid(), "VmHWM") / 1024);
                System.out.printf("   ledger stmts/cycle   idle %.1f (%.0f stmts / %.0f cycles); under load %.1f (%.0f / %.0f)%n",
                        (i1.statements() - i0.statements()) / idleCycles, i1.statements() - i0.statements(), idleCycles,
                        loadStatements / loadCycles, loadStatements, loadCycles);
                fleetLoadStatements += loadStatements;
                // start-up warnings (disabled providers, open API) are not what this bench is after
                String afterDrop = new String(Files.readAllBytes(hub.log()), java.nio.charset.StandardCharsets.UTF_8)
                        .substring((int) Math.min(logOffsets[r], log.length()));
                long errors = afterDrop.lines().filter(l -> l.contains(" ERROR ")).count();
                long warns = afterDrop.lines().filter(l -> l.contains(" WARN ")).count();
                System.out.printf("   log after the drop   %d WARN, %d ERROR lines (%s)%n", warns, errors, hub.log());
            }

            System.out.printf("ledger stmts per job   %.1f (all replicas, drop to last delivery, idle polling included)%n",
                    fleetLoadStatements / files);

            // ------------------------------------------------------------ exactly once?
            JsonNode calls = JSON.readTree(get(simulator, "/sandbox/dublab/_control/calls"));
            int creates = calls.path("init-dub").asInt(0) + calls.path("init-dub-group").asInt(0);
            System.out.printf("dublab creates         %d (init-dub %d + init-dub-group %d), start-dub %d, for %d files%n",
                    creates, calls.path("init-dub").asInt(0), calls.path("init-dub-group").asInt(0), calls.path("start-dub").asInt(0), files);
            if (database != null) {
                try (Connection conn = database.connect(); Statement st = conn.createStatement()) {
                    System.out.printf("ledger job rows        %d, distinct sources %d, distinct SHA-256 %d; by state %s%n",
                            one(st, "SELECT COUNT(*) FROM job"), one(st, "SELECT COUNT(DISTINCT source_key) FROM job"),
                            one(st, "SELECT COUNT(DISTINCT source_sha256) FROM job"),
                            grouped(st, "SELECT state, COUNT(*) FROM job GROUP BY state ORDER BY state"));
                }
            } else {
                JsonNode jobs = JSON.readTree(get(hubs.get(0), "/api/jobs?limit=1000"));
                Set<String> sources = new HashSet<>();
                Map<String, Integer> states = new TreeMap<>();
                for (JsonNode job : jobs) {
                    sources.add(job.path("source").asText());
                    states.merge(job.path("state").asText(), 1, Integer::sum);
                }
                System.out.printf("ledger jobs (API)      %d, distinct sources %d; by state %s%n", jobs.size(), sources.size(), states);
            }
            System.out.printf("outbox manifests       %d; files left in inbox %d; in done/dublab %d%n", delivered,
                    countFiles(inbox), countFiles(shared.resolve("done/dublab")));
            System.out.printf("work folder            %s%s%n", work, keep ? " (kept)" : " (deleted)");
        } finally {
            for (Process p : started) {
                p.destroy();
            }
            for (Process p : started) {
                if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            if (database != null) {
                database.drop();
            }
            if (!keep) {
                try (var walk = Files.walk(work)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    static Hub start(String name, int port, Path work, String heap, List<String> properties, Map<String, String> env) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-Dquarkus.http.port=" + port));
        cmd.addAll(properties);
        cmd.addAll(List.of("-jar", Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath().toString()));
        Path log = work.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return new Hub(name, port, pb.start(), log);
    }

    static void awaitLive(Hub hub) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!hub.process().isAlive()) {
                throw new IllegalStateException(hub.name() + " exited; see " + hub.log());
            }
            try {
                if (HTTP.send(request(hub, "/q/health/live").build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(hub.name() + " not live after 120 s; see " + hub.log());
    }

    static List<Scrape> scrapeAll(List<Hub> hubs) throws Exception {
        List<Scrape> out = new ArrayList<>();
        for (Hub hub : hubs) {
            out.add(scrape(hub));
        }
        return out;
    }

    static Scrape scrape(Hub hub) throws Exception {
        double heap = 0;
        double threads = 0;
        double statements = Double.NaN;
        double cycles = Double.NaN;
        Map<String, Double> jobs = new LinkedHashMap<>();
        Pattern jobState = Pattern.compile("state=\"([a-z_]+)\"");
        for (String line : get(hub, "/q/metrics").split("\n")) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                heap += value;
            } else if (line.startsWith("jvm_threads_live_threads")) {
                threads = value;
            } else if (line.startsWith("dubhub_ledger_statements_total")) {
                statements = value;
            } else if (line.startsWith("dubhub_poll_cycles_total")) {
                cycles = value;
            } else if (line.startsWith("dubhub_jobs{") && line.contains("provider=\"dublab\"")) {
                Matcher m = jobState.matcher(line);
                if (m.find()) {
                    jobs.put(m.group(1), value);
                }
            }
        }
        if (Double.isNaN(statements) || Double.isNaN(cycles)) {
            throw new IllegalStateException(hub.name() + " has no dubhub_ledger_statements_total / dubhub_poll_cycles_total: "
                    + "rebuild the jar (./mvnw -B -DskipTests package)");
        }
        return new Scrape(heap, threads, statements, cycles, jobs);
    }

    static HttpRequest.Builder request(Hub hub, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + path)).timeout(Duration.ofSeconds(30));
    }

    static String get(Hub hub, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(request(hub, path).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + " on " + hub.name() + ": HTTP " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    static void post(Hub hub, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(request(hub, path).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("POST " + path + " on " + hub.name() + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }

    static int countManifests(Path outbox) throws IOException {
        if (!Files.isDirectory(outbox)) {
            return 0;
        }
        try (var dirs = Files.list(outbox)) {
            return (int) dirs.filter(d -> Files.exists(d.resolve("job.json"))).count();
        }
    }

    static long countFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var list = Files.list(dir)) {
            return list.filter(Files::isRegularFile).count();
        }
    }

    static int count(Pattern p, String text) {
        Matcher m = p.matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    static long one(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static Map<String, Long> grouped(Statement st, String sql) throws SQLException {
        Map<String, Long> out = new TreeMap<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    static long rssKiB(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException gone) {
            // the process ended between two samples
        }
        return -1;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A fresh database on the PostgreSQL at 127.0.0.1:5432 (trust auth), as the tests' PostgresLedger makes one. */
    record PostgresDatabase(String user, String maintenance, String name) {

        static PostgresDatabase create() {
            List<String> failures = new ArrayList<>();
            for (String user : List.of("postgres", "root")) {
                for (String maintenance : List.of("test", "postgres")) {
                    try (Connection admin = open(maintenance, user); Statement st = admin.createStatement()) {
                        byte[] b = new byte[6];
                        new SecureRandom().nextBytes(b);
                        String name = "dubhub_bench_" + HexFormat.of().formatHex(b);
                        st.execute("CREATE DATABASE " + name);
                        return new PostgresDatabase(user, maintenance, name);
                    } catch (SQLException e) {
                        failures.add(user + "@" + maintenance + ": " + e.getMessage());
                    }
                }
            }
            throw new IllegalStateException("no database could be created on 127.0.0.1:5432: " + failures);
        }

        String url() {
            return "jdbc:postgresql://127.0.0.1:5432/" + name;
        }

        Connection connect() throws SQLException {
            return open(name, user);
        }

        void drop() {
            try (Connection admin = open(maintenance, user); Statement st = admin.createStatement()) {
                st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            } catch (SQLException e) {
                System.err.println("could not drop " + name + ": " + e.getMessage());
            }
        }

        private static Connection open(String database, String user) throws SQLException {
            Properties props = new Properties();
            props.setProperty("user", user);
            props.setProperty("password", "");
            props.setProperty("connectTimeout", "5");
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/" + database, props);
        }
    }
}

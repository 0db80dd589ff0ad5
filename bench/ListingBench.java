import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a watch-bucket poll costs on a bucket with many thousands of objects the hub already knows:
 * S3 requests, ledger lookups and milliseconds per poll, in steady state, on the first poll after
 * a restart, and when a few new objects arrive among them. The objects are small non-videos, so
 * each becomes a job that fails at its probe without any provider call (a real ledger row per
 * object is what matters here). Reads the hub's per-poll figures from its debug log
 * ({@code BucketIntake.ScanStats}). A program, not a test.
 *
 * Run after `./mvnw -B -DskipTests package` and once `./mvnw -B process-test-resources`:
 *   java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" bench/ListingBench.java [objects=5000] [workDir]
 */
public class ListingBench {

    static final String KEY = "bench-access-key";
    static final String SECRET = "bench-secret-key";
    static final Pattern SCAN = Pattern.compile("Route listing: ScanStats\\[listed=(\\d+), listRequests=(\\d+), ledgerLookups=(\\d+), taken=(\\d+), millis=(\\d+)]");

    record Scan(int listed, int requests, int lookups, int taken, long millis) {
        @Override
        public String toString() {
            return String.format("listed %6d keys in %3d request(s), %5d ledger lookup(s), %4d taken, %6d ms", listed, requests, lookups, taken, millis);
        }
    }

    public static void main(String[] args) throws Exception {
        int objects = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        Path work = Files.createDirectories(Path.of(args.length > 1 ? args[1] : "target/listing-bench")).toAbsolutePath();
        deleteTree(work);
        Files.createDirectories(work);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int s3Port = freePort();
        Path props = work.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + s3Port, "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY, "s3proxy.credential=" + SECRET,
                "jclouds.provider=transient", "jclouds.identity=" + KEY, "jclouds.credential=" + SECRET, ""));
        Process s3proxy = new ProcessBuilder(java, "-Xmx1g", "-jar", Path.of("target/emulators/s3proxy.jar").toAbsolutePath().toString(),
                "--properties", props.toString()).redirectErrorStream(true).redirectOutput(work.resolve("s3proxy.log").toFile()).start();
        URI endpoint = URI.create("http://127.0.0.1:" + s3Port);
        List<Process> hubs = new ArrayList<>();
        try (S3Client s3 = S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder())
                .endpointOverride(endpoint).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET))).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.addExecutionInterceptor(new io.dubhub.s3.NoExpectContinue())).build()) {
            waitFor(() -> { s3.listBuckets(); return true; }, s3proxy, "S3Proxy");
            s3.createBucket(c -> c.bucket("many"));
            long t0 = System.nanoTime();
            put(s3, 0, objects);
            System.out.printf("put %d objects in %.1f s%n", objects, (System.nanoTime() - t0) / 1e9);

            Path routes = Files.createDirectories(work.resolve("config/routes"));
            Files.writeString(routes.resolve("listing.yaml"), """
                    - templatedRoute:
                        routeTemplateRef: watch-bucket
                        routeId: listing
                        parameters:
                          - {name: bucket, value: many}
                          - {name: prefix, value: "in/"}
                          - {name: provider, value: dublab}
                          - {name: targetLanguages, value: es}
                          - {name: scanDelay, value: "2000"}
                    """);
            Map<String, String> env = Map.of(
                    "HUB_CONFIG_DIR", work.resolve("config").toString(),
                    "HUB_DATA_DIR", work.resolve("data").toString(),
                    // enabled, never called: every object fails its probe before any provider call
                    "HUB_PROVIDERS_DUBLAB_API_KEY", "unused",
                    "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:9/never-called",
                    "HUB_S3_ENDPOINT", endpoint.toString(),
                    "HUB_S3_ACCESS_KEY", KEY,
                    "HUB_S3_SECRET_KEY", SECRET,
                    "HUB_S3_PATH_STYLE", "true");

            Path log1 = work.resolve("hub-1.log");
            Process hub = start(java, env, log1);
            hubs.add(hub);
            t0 = System.nanoTime();
            List<Scan> first = awaitScans(log1, hub, s -> s.taken() == 0 && s.listed() >= objects, 3, Duration.ofMinutes(30));
            List<Scan> all = scans(log1);
            int taking = (int) all.stream().filter(s -> s.taken() > 0).count();
            System.out.printf("hub 1 took all %d objects in %.1f s over %d poll(s)%n", objects, (System.nanoTime() - t0) / 1e9, taking);
            System.out.println("steady state (nothing new), last 3 polls:");
            first.forEach(s -> System.out.println("  " + s));
            stop(hub);

            Path log2 = work.resolve("hub-2.log");
            hub = start(java, env, log2);
            hubs.add(hub);
            List<Scan> restart = awaitScans(log2, hub, s -> true, 3, Duration.ofMinutes(5));
            System.out.println("after a restart (first poll loads the route's known keys in one ledger query):");
            restart.forEach(s -> System.out.println("  " + s));
            int before = scans(log2).size();
            put(s3, objects, 10);
            List<Scan> withNew = awaitScans(log2, hub, s -> s.taken() > 0, 1, Duration.ofMinutes(5));
            System.out.println("10 new objects among them:");
            withNew.forEach(s -> System.out.println("  " + s));
            System.out.println("(polls seen on hub 2: " + before + " before the new objects)");
            stop(hub);
        } finally {
            for (Process p : hubs) {
                p.destroy();
            }
            s3proxy.destroy();
            s3proxy.waitFor();
        }
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " cores, load average at the end "
                + Files.readString(Path.of("/proc/loadavg")).trim());
    }

    static void put(S3Client s3, int from, int count) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> done = new ArrayList<>();
        byte[] body = "not a video, on purpose".getBytes(StandardCharsets.UTF_8);
        for (int i = from; i < from + count; i++) {
            String key = String.format("in/obj-%06d.mp4", i);
            done.add(pool.submit(() -> s3.putObject(b -> b.bucket("many").key(key), RequestBody.fromBytes(body))));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
    }

    static Process start(String java, Map<String, String> env, Path log) throws IOException {
        int port = freePort();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-Dquarkus.http.port=" + port,
                "-Dquarkus.log.category.\"io.dubhub.intake.BucketIntake\".level=DEBUG",
                "-jar", Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath().toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    static void stop(Process p) throws InterruptedException {
        p.destroy();
        p.waitFor();
    }

    interface Condition {
        boolean test(Scan s);
    }

    /** The first {@code count} polls, from the first one that meets {@code start} on. */
    static List<Scan> awaitScans(Path log, Process hub, Condition start, int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!hub.isAlive()) {
                throw new IllegalStateException("hub exited; see " + log);
            }
            List<Scan> all = scans(log);
            for (int i = 0; i < all.size(); i++) {
                if (start.test(all.get(i)) && all.size() - i >= count) {
                    return all.subList(i, i + count);
                }
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("polls not seen in time; see " + log);
    }

    static List<Scan> scans(Path log) throws IOException {
        List<Scan> out = new ArrayList<>();
        if (!Files.exists(log)) {
            return out;
        }
        Matcher m = SCAN.matcher(Files.readString(log));
        while (m.find()) {
            out.add(new Scan(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)), Long.parseLong(m.group(5))));
        }
        return out;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void waitFor(Check check, Process process, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(what + " exited");
            }
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(what + " did not start");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}

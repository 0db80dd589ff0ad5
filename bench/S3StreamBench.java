import io.dubhub.s3.S3FileUpload;
import io.dubhub.sandbox.SyntheticVideo;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Streams big objects through the packaged hub the way a bucket job goes: S3Proxy bucket → hub
 * (copy in, SHA-256) → provider storage (presigned PUT) → hub (download, SHA-256) → S3 sink
 * (multipart). The provider is the dublab simulator in its own sandbox process, so the hub under
 * test runs the production profile and its RSS is its own. Beside each leg, curl does the hub's
 * job between the same two servers in the same run, with the files the hub has (see curlLegs),
 * and the ratio is printed, per leg and for the four legs together. A program, not a test: these
 * machines are shared and noisy.
 *
 * Run after `./mvnw -B -DskipTests package` (and once `./mvnw -B process-test-resources` or
 * scripts/s3proxy.sh, for target/emulators/s3proxy.jar):
 *   java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" bench/S3StreamBench.java [sizesMiB=1024,4096] [heap=256m|256m-fixed|256m-pretouch|default] [workDir]
 * (256m-fixed: -Xms256m -Xmx256m; 256m-pretouch: the same with -XX:+AlwaysPreTouch, so that RSS growth
 * is what is not heap). BENCH_HUB_JVM_FLAGS adds flags to the hub's JVM (a JFR recording, NMT).
 *
 * With {@code multipart} first, it times the S3 sink's upload alone instead (see multipart):
 *   java -cp "…" bench/S3StreamBench.java multipart [sizeMiB=4096] [partMiB=64] [parallel=4]
 */
public class S3StreamBench {

    static final String KEY = "bench-access-key";
    static final String SECRET = "bench-secret-key";
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final long WARM_UP_BYTES = 256L * 1024 * 1024;

    record Proc(Process process, int port, Path log) {
    }

    /** Seconds per leg, hub and curl. */
    record Legs(double intake, double providerPut, double download, double sink) {
        double total() {
            return intake + providerPut + download + sink;
        }

        Legs mean(Legs o) {
            return new Legs((intake + o.intake) / 2, (providerPut + o.providerPut) / 2, (download + o.download) / 2,
                    (sink + o.sink) / 2);
        }
    }

    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("multipart")) {
            multipart(args);
            return;
        }
        String[] sizes = (args.length > 0 ? args[0] : "1024,4096").split(",");
        String heap = args.length > 1 ? args[1] : "256m";
        Path work = Files.createDirectories(Path.of(args.length > 2 ? args[2] : "target/s3-bench")).toAbsolutePath();
        String java = JAVA;

        deleteTree(work.resolve("simulator"));
        int s3Port = freePort();
        Process s3proxy = startS3Proxy(work, s3Port);
        // the provider: the dublab simulator and its storage, in a sandbox process of their own
        int simPort = freePort();
        Proc simulator = startJar(java, "1g", simPort, work.resolve("simulator.log"), List.of("-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + work.resolve("simulator"), "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.sandbox.stage-duration=500ms", "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of());
        URI endpoint = URI.create("http://127.0.0.1:" + s3Port);
        List<String> report = new ArrayList<>();
        try (S3Client s3 = s3Client(endpoint); S3Presigner presigner = presigner(endpoint)) {
            waitFor(() -> { s3.listBuckets(); return true; }, s3proxy, "S3Proxy");
            s3.createBucket(c -> c.bucket("bench-src"));
            s3.createBucket(c -> c.bucket("bench-out"));
            waitFor(() -> status(simulator, "/q/health/live") == 200, simulator.process(), "simulator");
            preTouchMemory(java);
            post(simulator, "/sandbox/dublab/_control/credits?value=100000000");
            for (String size : sizes) {
                report.add(runOne(Long.parseLong(size.trim()), heap, work, java, s3, presigner, endpoint, simulator));
            }
        } finally {
            for (Process p : List.of(s3proxy, simulator.process())) {
                p.destroy();
                p.waitFor();
            }
        }
        System.out.println();
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " cores, load average at the end "
                + Files.readString(Path.of("/proc/loadavg")).trim());
        report.forEach(System.out::println);
    }

    /** S3Proxy on a fresh filesystem store under {@code work/s3} (buckets and objects of an earlier run would be in the way). */
    static Process startS3Proxy(Path work, int port) throws IOException {
        deleteTree(work.resolve("s3"));
        Files.createDirectories(work.resolve("s3"));
        Path props = work.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port, "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY, "s3proxy.credential=" + SECRET,
                "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + work.resolve("s3"),
                "jclouds.identity=" + KEY, "jclouds.credential=" + SECRET, ""));
        return new ProcessBuilder(JAVA, "-Xmx512m", "-jar", Path.of("target/emulators/s3proxy.jar").toAbsolutePath().toString(),
                "--properties", props.toString()).redirectErrorStream(true).redirectOutput(work.resolve("s3proxy.log").toFile()).start();
    }

    static S3Client s3Client(URI endpoint) {
        return S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder().socketTimeout(Duration.ofMinutes(5)))
                .endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(CREDENTIALS).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.addExecutionInterceptor(new io.dubhub.s3.NoExpectContinue())).build();
    }

    static S3Presigner presigner(URI endpoint) {
        return S3Presigner.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(CREDENTIALS)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build();
    }

    static final StaticCredentialsProvider CREDENTIALS = StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET));

    /**
     * Where an S3 sink upload's time goes on S3Proxy (filesystem store): the sink's multipart upload
     * (presigned part PUTs through BulkHttp, as the sink sends them) timed in two pieces, the parts and
     * the store's answer to the complete request, beside one PUT of the same file. S3Proxy writes the
     * whole object again before it answers a complete; real S3 does not.
     */
    static void multipart(String[] args) throws Exception {
        long size = Long.parseLong(args.length > 1 ? args[1] : "4096") << 20;
        long part = Long.parseLong(args.length > 2 ? args[2] : "64") << 20;
        int parallel = Integer.parseInt(args.length > 3 ? args[3] : "4");
        Path work = Files.createDirectories(Path.of("target/multipart-bench")).toAbsolutePath();
        int port = freePort();
        Process s3proxy = startS3Proxy(work, port);
        Path file = work.resolve("object.bin");
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        try (S3Client s3 = s3Client(endpoint); S3Presigner presigner = presigner(endpoint)) {
            waitFor(() -> { s3.listBuckets(); return true; }, s3proxy, "S3Proxy");
            s3.createBucket(c -> c.bucket("bench-out"));
            writeRandom(file, size);
            io.dubhub.http.BulkHttp http = new io.dubhub.http.BulkHttp(Duration.ofSeconds(10), Duration.ofMinutes(5));

            sync();
            long started = System.nanoTime();
            String uploadId = s3.createMultipartUpload(c -> c.bucket("bench-out").key("multipart.bin")).uploadId();
            int parts = (int) ((size + part - 1) / part);
            var pool = java.util.concurrent.Executors.newFixedThreadPool(parallel);
            List<java.util.concurrent.Future<CompletedPart>> pending = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                int number = i + 1;
                long offset = i * part;
                long length = Math.min(part, size - offset);
                pending.add(pool.submit(() -> {
                    URI url = URI.create(presigner.presignUploadPart(p -> p.signatureDuration(Duration.ofHours(1))
                            .uploadPartRequest(u -> u.bucket("bench-out").key("multipart.bin").uploadId(uploadId).partNumber(number)))
                            .url().toString());
                    io.dubhub.http.BulkHttp.Answer answer = http.put(url, file, offset, length, Map.of());
                    if (!answer.ok()) {
                        throw new IllegalStateException("part " + number + ": HTTP " + answer.status() + " " + answer.body());
                    }
                    return CompletedPart.builder().partNumber(number).eTag(answer.header("ETag")).build();
                }));
            }
            List<CompletedPart> done = new ArrayList<>();
            for (var f : pending) {
                done.add(f.get());
            }
            pool.shutdown();
            long partsDone = System.nanoTime();
            s3.completeMultipartUpload(c -> c.bucket("bench-out").key("multipart.bin").uploadId(uploadId).multipartUpload(m -> m.parts(done)));
            long completed = System.nanoTime();

            sync();
            URI single = URI.create(presigner.presignPutObject(p -> p.signatureDuration(Duration.ofHours(1))
                    .putObjectRequest(r -> r.bucket("bench-out").key("single.bin"))).url().toString());
            long singleStarted = System.nanoTime();
            io.dubhub.http.BulkHttp.Answer answer = http.put(single, file, 0, size, Map.of());
            long singleDone = System.nanoTime();
            if (!answer.ok()) {
                throw new IllegalStateException("single PUT: HTTP " + answer.status() + " " + answer.body());
            }
            double mib = size / (1024.0 * 1024);
            double partsSeconds = (partsDone - started) / 1e9;
            double completeSeconds = (completed - partsDone) / 1e9;
            double singleSeconds = (singleDone - singleStarted) / 1e9;
            System.out.printf("%.0f MiB to S3Proxy (filesystem store), %d parts of %d MiB, %d at a time%n", mib, parts, part >> 20, parallel);
            System.out.printf("  multipart: parts %.1f s (%.0f MiB/s), complete %.1f s, in all %.1f s (%.0f MiB/s)%n",
                    partsSeconds, mib / partsSeconds, completeSeconds, partsSeconds + completeSeconds, mib / (partsSeconds + completeSeconds));
            System.out.printf("  one PUT:   %.1f s (%.0f MiB/s)%n", singleSeconds, mib / singleSeconds);
            System.out.printf("machine: %d cores, load average %s%n", Runtime.getRuntime().availableProcessors(),
                    Files.readString(Path.of("/proc/loadavg")).trim());
        } finally {
            s3proxy.destroy();
            s3proxy.waitFor();
            Files.deleteIfExists(file);
            deleteTree(work.resolve("s3"));
        }
        System.exit(0); // BulkHttp's pool threads
    }

    /** Random bytes (not compressible, not repeating), written once. */
    static void writeRandom(Path file, long size) throws IOException {
        java.util.Random random = new java.util.Random(7);
        byte[] block = new byte[1 << 20];
        try (var out = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long left = size; left > 0; ) {
                random.nextBytes(block);
                int n = (int) Math.min(block.length, left);
                out.write(java.nio.ByteBuffer.wrap(block, 0, n));
                left -= n;
            }
        }
    }

    static String runOne(long sizeMiB, String heap, Path work, String java, S3Client s3, S3Presigner presigner, URI endpoint,
                         Proc simulator) throws Exception {
        long bytes = sizeMiB * 1024 * 1024;
        String prefix = "in-" + sizeMiB + "/";
        String key = prefix + "big" + sizeMiB + ".mp4";
        Path local = work.resolve("big" + sizeMiB + ".mp4");
        SyntheticVideo.writeMp4(local, Duration.ofMinutes(30), 1920, 1080, bytes);
        // In place before the hub starts: S3Proxy's filesystem store lists an upload in progress as another key.
        S3FileUpload.upload(s3, "bench-src", key, local, bytes, "video/mp4");

        // curl, leg by leg, between the same servers: into a file on the same disk for GETs, from one for
        // PUTs. Once before the hub's run and once after it, so that neither side alone meets a disk busy
        // writing back what the other wrote; the ratio is against the mean of the two.
        Legs curlBefore = curlLegs(sizeMiB, work, s3, presigner, simulator);

        Path root = work.resolve("hub-" + sizeMiB);
        deleteTree(root); // routes files of an earlier run would start the bench route before the warm-up
        Files.createDirectories(root);
        Path routes = Files.createDirectories(root.resolve("config/routes"));
        // A warm-up object first, on a route of its own: the figures are those of a hub that has been running
        // (JIT-compiled copy and digest loops), not of its first minute. The bench route is added once the
        // warm-up is delivered, through the hub's own route reload; its object is in the bucket from the start.
        String warmKey = "warm-" + sizeMiB + "/warm" + sizeMiB + ".mp4";
        Path warmLocal = work.resolve("warm" + sizeMiB + ".mp4");
        SyntheticVideo.writeMp4(warmLocal, Duration.ofMinutes(5), 1280, 720, WARM_UP_BYTES);
        S3FileUpload.upload(s3, "bench-src", warmKey, warmLocal, WARM_UP_BYTES, "video/mp4");
        Files.delete(warmLocal);
        int port = freePort();
        List<String> flags = new ArrayList<>(List.of("-XX:+ExitOnOutOfMemoryError", "-Xlog:gc:file=" + root.resolve("gc.log"),
                "-Dhub.public-base-url=http://127.0.0.1:" + port,
                "-Dhub.data-dir=" + root.resolve("data")));
        String extra = System.getenv().getOrDefault("BENCH_HUB_JVM_FLAGS", ""); // e.g. a JFR recording, to see what allocates
        if (!extra.isBlank()) {
            flags.addAll(0, List.of(extra.trim().split("\\s+")));
        }
        Proc hub = startJar(java, heap, port, root.resolve("hub.log"), flags, Map.of(
                "HUB_CONFIG_DIR", root.resolve("config").toString(),
                "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:" + simulator.port() + "/sandbox/dublab/api/v1",
                "HUB_PROVIDERS_DUBLAB_API_KEY", "sandbox-dublab-key",
                "HUB_PROVIDERS_DUBLAB_POLL_INTERVAL", "1s",
                "HUB_S3_ENDPOINT", endpoint.toString(),
                "HUB_S3_ACCESS_KEY", KEY,
                "HUB_S3_SECRET_KEY", SECRET,
                "HUB_S3_PATH_STYLE", "true"));
        long idle = -1;
        long peak = 0;
        List<Long> samples = new ArrayList<>(); // RSS every 100 ms while the bench object goes through
        String manifestKey = "out/big" + sizeMiB + "/job.json";
        try {
            waitFor(() -> status(hub, "/q/health/live") == 200, hub.process(), "hub");
            // Idle is a hub that has finished starting: "live" comes while it is still allocating its
            // start (its heap was measured growing from 45 to 100 MiB in the seconds after), so the hub
            // starts with no route and idle is taken once RSS has held still; only then is the warm-up
            // route added, through the hub's route reload like the bench route.
            idle = settledRss(hub.process().pid());
            Files.writeString(routes.resolve("warmup.yaml"), route("warmup", "warm-" + sizeMiB + "/"));
            String warmManifest = "out/warm" + sizeMiB + "/job.json";
            long warmDeadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (!exists(s3, "bench-out", warmManifest)) {
                if (!hub.process().isAlive() || System.nanoTime() > warmDeadline) {
                    throw new IllegalStateException("warm-up not delivered; see " + hub.log());
                }
                Thread.sleep(100);
            }
            long warm = rssKiB(hub.process().pid(), "VmRSS");
            long warmHwm = rssKiB(hub.process().pid(), "VmHWM");
            settle(storeFile(work, sizeMiB));
            Files.writeString(routes.resolve("bench.yaml"), route("bench", prefix));
            long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
            while (!exists(s3, "bench-out", manifestKey)) {
                if (!hub.process().isAlive()) {
                    throw new IllegalStateException("hub exited; see " + hub.log());
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no job.json after 30 min; see " + hub.log());
                }
                long now = rssKiB(hub.process().pid(), "VmRSS");
                peak = Math.max(peak, now);
                samples.add(now);
                Thread.sleep(100);
            }
            long hwm = rssKiB(hub.process().pid(), "VmHWM");
            hub.process().destroy();
            hub.process().waitFor();
            Legs curlAfter = curlLegs(sizeMiB, work, s3, presigner, simulator);
            Legs curl = curlBefore.mean(curlAfter);
            String hubLog = Files.readString(hub.log());
            String manifest = s3.getObjectAsBytes(g -> g.bucket("bench-out").key(manifestKey)).asUtf8String();
            Legs hubLegs = new Legs(
                    seconds(hubLog, "Copied s3://bench-src/" + Pattern.quote(key) + ": \\d+ bytes in ([0-9.]+) s"),
                    seconds(manifest, "uploaded \\d+ bytes to dublab in ([0-9.]+) s"),
                    seconds(hubLog, "delivered es/big" + sizeMiB + "\\.es\\.mp4 \\(\\d+ bytes, downloaded in ([0-9.]+) s\\)"),
                    seconds(hubLog, "Uploaded s3://bench-out/out/big" + sizeMiB + "/es/\\S+\\.mp4: \\d+ bytes in ([0-9.]+) s"));
            double completing = seconds(hubLog, "Uploaded s3://bench-out/out/big" + sizeMiB
                    + "/es/.*of which ([0-9.]+) s the store took to complete");
            StringBuilder out = new StringBuilder();
            out.append(String.format("== %d MiB, hub heap %s ==%n", sizeMiB, heap));
            out.append(String.format("%-34s %9s %9s %6s%n", "leg (MiB/s)", "hub", "curl", "ratio"));
            line(out, "bucket → hub (copy in + SHA-256)", sizeMiB, hubLegs.intake(), curl.intake());
            line(out, "hub → provider (presigned PUT)", sizeMiB, hubLegs.providerPut(), curl.providerPut());
            line(out, "provider → hub (download + SHA-256)", sizeMiB, hubLegs.download(), curl.download());
            line(out, "hub → S3 sink (multipart)", sizeMiB, hubLegs.sink(), curl.sink());
            line(out, "all four legs", 4 * sizeMiB, hubLegs.total(), curl.total());
            out.append(String.format("curl, all four legs: %.1f MiB/s before the hub's run, %.1f after%n",
                    4 * sizeMiB / curlBefore.total(), 4 * sizeMiB / curlAfter.total()));
            out.append(String.format("sink leg: %.1f s of the hub's %.1f s were S3Proxy completing the multipart upload "
                    + "(it writes the whole object again; curl's single PUT has no such step)%n", completing, hubLegs.sink()));
            out.append(gcSummary(root.resolve("gc.log")));
            out.append(String.format("hub RSS: idle %d MiB, after the %d MiB warm-up %d MiB (high-water %d), peak sampled %d MiB, "
                            + "high-water %d MiB; growth %d MiB from idle, %d MiB over the warm-up's high-water%n",
                    idle / 1024, WARM_UP_BYTES >> 20, warm / 1024, warmHwm / 1024, peak / 1024, hwm / 1024, (hwm - idle) / 1024,
                    (hwm - warmHwm) / 1024));
            out.append("hub RSS, highest in each quarter of the bench object's run (MiB):");
            for (int q = 0; q < 4; q++) {
                long max = 0;
                for (int i = q * samples.size() / 4; i < (q + 1) * samples.size() / 4; i++) {
                    max = Math.max(max, samples.get(i));
                }
                out.append(' ').append(max / 1024);
            }
            out.append(String.format("%n"));
            System.out.print(out);
            return out.toString();
        } finally {
            hub.process().destroy();
            hub.process().waitFor();
            Files.deleteIfExists(local);
            deleteTree(root.resolve("data"));
            deleteTree(work.resolve("simulator/.sandbox/storage"));
            for (var o : s3.listObjectsV2Paginator(l -> l.bucket("bench-out").prefix("out/big" + sizeMiB + "/")).contents()) {
                s3.deleteObject(d -> d.bucket("bench-out").key(o.key()));
            }
            s3.deleteObject(d -> d.bucket("bench-src").key(key));
            s3.deleteObject(d -> d.bucket("bench-src").key(warmKey));
            for (var o : s3.listObjectsV2Paginator(l -> l.bucket("bench-out").prefix("out/warm" + sizeMiB + "/")).contents()) {
                s3.deleteObject(d -> d.bucket("bench-out").key(o.key()));
            }
        }
    }

    static String route(String id, String prefix) {
        return """
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: %s
                    parameters:
                      - {name: bucket, value: bench-src}
                      - {name: prefix, value: "%s"}
                      - {name: provider, value: dublab}
                      - {name: sourceLanguage, value: en}
                      - {name: targetLanguages, value: es}
                      - {name: scanDelay, value: "1000"}
                      - {name: sink, value: "s3://bench-out/out"}
                """.formatted(id, prefix);
    }

    /**
     * curl doing the hub's job leg by leg between the same servers, timed by curl itself, with the
     * files the hub has: the copy it GETs from the bucket is the file it PUTs to the provider (then
     * deleted, as the hub deletes its copy once submitted), and the output it GETs from the provider
     * is the file it PUTs to the sink (then deleted). So curl's PUTs read a file just written, and the
     * disk writes back what curl wrote, as the hub's do.
     */
    static Legs curlLegs(long sizeMiB, Path work, S3Client s3, S3Presigner presigner, Proc simulator) throws Exception {
        settle(storeFile(work, sizeMiB));
        Path copy = work.resolve("curl-" + sizeMiB + "-copy.mp4");
        Path output = work.resolve("curl-" + sizeMiB + "-output.mp4");
        String key = "in-" + sizeMiB + "/big" + sizeMiB + ".mp4";
        URI srcGet = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofHours(1))
                .getObjectRequest(g -> g.bucket("bench-src").key(key))).url().toURI();
        String storageKey = "bench/curl-" + sizeMiB + ".mp4";
        URI providerPut = URI.create(post(simulator, "/sandbox/storage-control/presign?method=PUT&contentType=video%2Fmp4&key="
                + URLEncoder.encode(storageKey, StandardCharsets.UTF_8)));
        URI providerGet = URI.create(post(simulator, "/sandbox/storage-control/presign?method=GET&key="
                + URLEncoder.encode(storageKey, StandardCharsets.UTF_8)));
        URI sinkPut = presigner.presignPutObject(p -> p.signatureDuration(Duration.ofHours(1))
                .putObjectRequest(g -> g.bucket("bench-out").key("curl/" + sizeMiB + ".bin"))).url().toURI();
        // the hub's own request: If-Match the listed ETag, so the copy is of the version it saw
        String etag = s3.headObject(h -> h.bucket("bench-src").key(key)).eTag();
        double intake = curl("-o", copy.toString(), "-H", "If-Match: " + etag, srcGet.toString());
        double providerPutSeconds = curl("-T", copy.toString(), "-H", "Content-Type: video/mp4", providerPut.toString());
        Files.delete(copy);
        double download = curl("-o", output.toString(), providerGet.toString());
        double sink = curl("-T", output.toString(), sinkPut.toString());
        s3.deleteObject(d -> d.bucket("bench-out").key("curl/" + sizeMiB + ".bin"));
        Files.delete(output);
        deleteTree(work.resolve("simulator/.sandbox/storage/bench"));
        return new Legs(intake, providerPutSeconds, download, sink);
    }

    /** Young and full collections in the hub's GC log, and the heap it ended with. */
    static String gcSummary(Path gcLog) throws IOException {
        if (!Files.exists(gcLog)) {
            return "";
        }
        List<String> lines = Files.readAllLines(gcLog);
        long young = lines.stream().filter(l -> l.contains("Pause Young")).count();
        long full = lines.stream().filter(l -> l.contains("Pause Full")).count();
        String last = lines.stream().filter(l -> l.contains("Pause")).reduce((a, b) -> b).orElse("");
        return String.format("hub GC: %d young, %d full collections; last: %s%n", young, full,
                last.replaceAll("^(\\[[^\\]]*\\])+ ?", ""));
    }

    /** Where S3Proxy's filesystem store keeps the bench object. */
    static Path storeFile(Path work, long sizeMiB) {
        return work.resolve("s3/bench-src/in-" + sizeMiB + "/big" + sizeMiB + ".mp4");
    }

    /** Dirty pages written back now, not during the next measurement. */
    static void sync() throws Exception {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
    }

    /**
     * The same page-cache state before each side's run: dirty pages written back, clean ones dropped
     * (root only; said once when not allowed), then the source object read back in, so that both
     * sides GET it from memory and write into freed pages. Measured on these VMs: writes into pages
     * the guest has not touched yet run at 0.4–0.6 GiB/s against 4–5 GiB/s into pages it has, so
     * without this, whichever side ran first after a delete looked twice as fast.
     */
    static void settle(Path sourceInStore) throws Exception {
        sync();
        try {
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
        } catch (IOException | SecurityException e) {
            if (!dropCachesRefused) {
                System.out.println("note: cannot drop the page cache (" + e.getMessage() + "); figures depend more on what ran before");
                dropCachesRefused = true;
            }
        }
        if (sourceInStore != null && Files.exists(sourceInStore)) {
            try (var in = java.nio.channels.FileChannel.open(sourceInStore)) {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocateDirect(1 << 20);
                while (in.read(buffer) > 0) {
                    buffer.clear();
                }
            }
        }
    }

    static boolean dropCachesRefused;

    /**
     * Faults in most of the machine's memory once, so that neither side pays the hypervisor's
     * first-touch cost for page cache during its run (a JVM that pre-touches a heap that size, then exits).
     */
    static void preTouchMemory(String java) throws Exception {
        long availableKiB = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                availableKiB = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        long mib = availableKiB / 1024 * 7 / 10;
        if (mib < 1024) {
            return;
        }
        long started = System.nanoTime();
        new ProcessBuilder(java, "-Xms" + mib + "m", "-Xmx" + mib + "m", "-XX:+AlwaysPreTouch", "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        System.out.printf("pre-touched %d MiB of memory in %.1f s%n", mib, (System.nanoTime() - started) / 1e9);
    }

    static void line(StringBuilder out, String leg, long mib, double hubSeconds, double curlSeconds) {
        out.append(String.format("%-34s %9.1f %9.1f %6.2f%n", leg, mib / hubSeconds, mib / curlSeconds, curlSeconds / hubSeconds));
    }

    static Proc startJar(String java, String heap, int port, Path log, List<String> flags, Map<String, String> env) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java));
        if (heap.endsWith("-fixed")) { // -Xms = -Xmx: the heap's size decided at start, as many services run
            String size = heap.substring(0, heap.length() - "-fixed".length());
            cmd.addAll(List.of("-Xms" + size, "-Xmx" + size));
        } else if (heap.endsWith("-pretouch")) {
            // the whole heap touched at start, so RSS growth after idle is what is not heap: metaspace,
            // code, threads, native buffers; the heap itself is capped by -Xmx
            String size = heap.substring(0, heap.length() - "-pretouch".length());
            cmd.addAll(List.of("-Xms" + size, "-Xmx" + size, "-XX:+AlwaysPreTouch"));
        } else if (!heap.equals("default")) {
            cmd.add("-Xmx" + heap);
        }
        cmd.add("-Dquarkus.http.port=" + port);
        cmd.addAll(flags);
        cmd.addAll(List.of("-jar", Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return new Proc(pb.start(), port, log);
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

    static int status(Proc p, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static String post(Proc p, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("POST " + path + " -> " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    /** curl's own time for one transfer; it fails loudly on an HTTP error. */
    static double curl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--fail-with-body", "-w", "%{time_total}"));
        command.addAll(List.of(args));
        if (!List.of(args).contains("-o")) {
            command.addAll(List.of("-o", "/dev/null")); // a PUT's (empty) answer
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("curl " + String.join(" ", args).replaceAll("\\?\\S*", "?…") + " failed: " + out);
        }
        return Double.parseDouble(out);
    }

    static double seconds(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no line matching " + regex);
        }
        return Double.parseDouble(m.group(1));
    }

    static boolean exists(S3Client s3, String bucket, String key) {
        try {
            s3.headObject(h -> h.bucket(bucket).key(key));
            return true;
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            return false;
        }
    }

    /** RSS once it has changed by less than 1 MiB over 5 s (at most a minute), in KiB. */
    static long settledRss(long pid) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        long last = rssKiB(pid, "VmRSS");
        while (System.nanoTime() < deadline) {
            Thread.sleep(5000);
            long now = rssKiB(pid, "VmRSS");
            if (Math.abs(now - last) < 1024) {
                return now;
            }
            last = now;
        }
        return last;
    }

    static long rssKiB(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
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

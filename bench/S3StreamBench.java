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
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Streams big objects bucket → provider upload → provider download → S3 sink through the
 * packaged hub (sandbox dublab in the same process, S3Proxy with its filesystem store as the
 * bucket), and prints per-leg throughput beside curl moving the same bytes over the same loopback
 * to and from the same S3Proxy in the same run, plus the hub's RSS. A program, not a test.
 *
 * Run after `./mvnw -B -DskipTests package` (and once `./mvnw -B process-test-resources` or
 * scripts/s3proxy.sh, for target/emulators/s3proxy.jar):
 *   java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" bench/S3StreamBench.java [sizesMiB=1024,4096] [heap=256m] [workDir]
 */
public class S3StreamBench {

    static final String KEY = "bench-access-key";
    static final String SECRET = "bench-secret-key";
    static final double MIB = 1024 * 1024;

    public static void main(String[] args) throws Exception {
        String[] sizes = (args.length > 0 ? args[0] : "1024,4096").split(",");
        String heap = args.length > 1 ? args[1] : "256m";
        Path work = Files.createDirectories(Path.of(args.length > 2 ? args[2] : "target/s3-bench")).toAbsolutePath();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();

        int s3Port = freePort();
        Files.createDirectories(work.resolve("s3"));
        Path props = work.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + s3Port, "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY, "s3proxy.credential=" + SECRET,
                "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + work.resolve("s3"),
                "jclouds.identity=" + KEY, "jclouds.credential=" + SECRET, ""));
        Process s3proxy = new ProcessBuilder(java, "-Xmx512m", "-jar", Path.of("target/emulators/s3proxy.jar").toAbsolutePath().toString(),
                "--properties", props.toString()).redirectErrorStream(true).redirectOutput(work.resolve("s3proxy.log").toFile()).start();
        URI endpoint = URI.create("http://127.0.0.1:" + s3Port);
        var creds = StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET));
        List<String> report = new ArrayList<>();
        try (S3Client s3 = S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder().socketTimeout(Duration.ofMinutes(5)))
                .endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(creds).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build();
             S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(creds)
                     .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build()) {
            waitFor(() -> { s3.listBuckets(); return true; }, s3proxy, "S3Proxy");
            s3.createBucket(c -> c.bucket("bench-src"));
            s3.createBucket(c -> c.bucket("bench-out"));
            for (String size : sizes) {
                report.add(runOne(Long.parseLong(size.trim()), heap, work, java, s3, presigner, endpoint));
            }
        } finally {
            s3proxy.destroy();
            s3proxy.waitFor();
        }
        System.out.println();
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " cores, load average at the end "
                + Files.readString(Path.of("/proc/loadavg")).trim());
        report.forEach(System.out::println);
    }

    static String runOne(long sizeMiB, String heap, Path work, String java, S3Client s3, S3Presigner presigner, URI endpoint)
            throws Exception {
        long bytes = sizeMiB * 1024 * 1024;
        String prefix = "in-" + sizeMiB + "/";
        String key = prefix + "big" + sizeMiB + ".mp4";
        Path local = work.resolve("big" + sizeMiB + ".mp4");
        SyntheticVideo.writeMp4(local, Duration.ofMinutes(30), 1920, 1080, bytes);
        // In place before the hub starts: S3Proxy's filesystem store lists an upload in progress as another key.
        S3FileUpload.upload(s3, "bench-src", key, local, bytes, "video/mp4");

        // curl over the same loopback, same S3Proxy, same bytes: GET of the source, PUT of the file.
        URI get = presigner.presignGetObject(p -> p.signatureDuration(Duration.ofHours(1))
                .getObjectRequest(g -> g.bucket("bench-src").key(key))).url().toURI();
        URI put = presigner.presignPutObject(p -> p.signatureDuration(Duration.ofHours(1))
                .putObjectRequest(g -> g.bucket("bench-out").key("curl/" + sizeMiB + ".bin"))).url().toURI();
        double curlGet = curl(List.of("curl", "-sS", "-o", "/dev/null", "-w", "%{time_total}", get.toString()));
        double curlPut = curl(List.of("curl", "-sS", "-o", "/dev/null", "-w", "%{time_total}", "-T", local.toString(), put.toString()));
        s3.deleteObject(d -> d.bucket("bench-out").key("curl/" + sizeMiB + ".bin"));
        Files.delete(local);

        Path root = Files.createDirectories(work.resolve("hub-" + sizeMiB));
        Path routes = Files.createDirectories(root.resolve("config/routes"));
        Files.writeString(routes.resolve("bench.yaml"), """
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: bench
                    parameters:
                      - {name: bucket, value: bench-src}
                      - {name: prefix, value: "%s"}
                      - {name: provider, value: dublab}
                      - {name: sourceLanguage, value: en}
                      - {name: targetLanguages, value: es}
                      - {name: scanDelay, value: "1000"}
                      - {name: sink, value: "s3://bench-out/out"}
                """.formatted(prefix));
        int port = freePort();
        Path log = root.resolve("hub.log");
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError",
                "-Dquarkus.profile=sandbox", "-Dquarkus.http.port=" + port, "-Dhub.public-base-url=http://127.0.0.1:" + port,
                "-Dhub.data-dir=" + root.resolve("data"), "-Dhub.sandbox.demo-inbox=false", "-Dhub.sandbox.stage-duration=500ms",
                "-Dhub.providers.dublab.poll-interval=1s", "-jar", "target/quarkus-app/quarkus-run.jar")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("HUB_CONFIG_DIR", root.resolve("config").toString());
        pb.environment().put("HUB_S3_ENDPOINT", endpoint.toString());
        pb.environment().put("HUB_S3_ACCESS_KEY", KEY);
        pb.environment().put("HUB_S3_SECRET_KEY", SECRET);
        pb.environment().put("HUB_S3_PATH_STYLE", "true");
        long t0 = System.nanoTime();
        Process hub = pb.start();
        HttpClient http = HttpClient.newHttpClient();
        long idle = -1;
        long peak = 0;
        String manifestKey = "out/big" + sizeMiB + "/job.json";
        try {
            waitFor(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/live")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200, hub, "hub");
            idle = rssKiB(hub.pid(), "VmRSS"); // at "live", before the first scan has moved any bytes
            while (!exists(s3, "bench-out", manifestKey)) {
                if (!hub.isAlive()) {
                    throw new IllegalStateException("hub exited; see " + log);
                }
                peak = Math.max(peak, rssKiB(hub.pid(), "VmRSS"));
                Thread.sleep(100);
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            long hwm = rssKiB(hub.pid(), "VmHWM");
            String hubLog = Files.readString(log);
            String manifest = s3.getObjectAsBytes(g -> g.bucket("bench-out").key(manifestKey)).asUtf8String();
            double intake = seconds(hubLog, "Copied s3://bench-src/" + Pattern.quote(key) + ": \\d+ bytes in ([0-9.]+) s");
            double upload = seconds(manifest, "uploaded \\d+ bytes to dublab in ([0-9.]+) s");
            double download = seconds(hubLog, "delivered es/\\S+\\.mp4 \\(\\d+ bytes, downloaded in ([0-9.]+) s\\)");
            double sink = seconds(hubLog, "Uploaded s3://bench-out/out/big" + sizeMiB + "/es/\\S+\\.mp4: \\d+ bytes in ([0-9.]+) s");
            StringBuilder out = new StringBuilder();
            out.append(String.format("== %d MiB, hub -Xmx%s ==%n", sizeMiB, heap));
            out.append(String.format("curl GET from S3Proxy      %7.1f MiB/s%n", sizeMiB / curlGet));
            out.append(String.format("curl PUT to S3Proxy        %7.1f MiB/s%n", sizeMiB / curlPut));
            out.append(String.format("hub bucket → disk (intake) %7.1f MiB/s  (%.2f of curl GET)%n", sizeMiB / intake, curlGet / intake));
            out.append(String.format("hub → provider (PUT)       %7.1f MiB/s  (%.2f of curl PUT; sandbox storage is inside the hub)%n", sizeMiB / upload, curlPut / upload));
            out.append(String.format("provider → hub (download)  %7.1f MiB/s  (%.2f of curl GET; served by the hub itself)%n", sizeMiB / download, curlGet / download));
            out.append(String.format("hub → S3 sink (multipart)  %7.1f MiB/s  (%.2f of curl PUT)%n", sizeMiB / sink, curlPut / sink));
            out.append(String.format("start → job.json           %7.1f s (includes start-up, SHA-256 at intake, probe, simulated stages, polls)%n", wall));
            out.append(String.format("RSS idle %d MiB, peak sampled %d MiB, high-water %d MiB, growth %d MiB%n",
                    idle / 1024, peak / 1024, hwm / 1024, (hwm - idle) / 1024));
            System.out.print(out);
            return out.toString();
        } finally {
            hub.destroy();
            hub.waitFor();
            deleteTree(root.resolve("data"));
            for (var o : s3.listObjectsV2Paginator(l -> l.bucket("bench-out").prefix("out/big" + sizeMiB + "/")).contents()) {
                s3.deleteObject(d -> d.bucket("bench-out").key(o.key()));
            }
            s3.deleteObject(d -> d.bucket("bench-src").key(key));
        }
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

    static double curl(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command.subList(0, 4)) + " failed: " + out);
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

import io.dubhub.http.BulkHttp;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Where an S3 sink upload's time goes on S3Proxy (filesystem store): the hub's multipart upload
 * (presigned part PUTs through BulkHttp, as the sink sends them) timed in two pieces, the parts and
 * the store's answer to the complete request, beside one PUT of the same file. S3Proxy writes the
 * whole object again before it answers a complete; real S3 does not. A program, not a test.
 *
 * Run after `./mvnw -B -DskipTests package` and `./mvnw -B process-test-resources` (S3Proxy):
 *   java -cp "target/quarkus-app/app/*:target/quarkus-app/lib/main/*" bench/MultipartBench.java [sizeMiB=4096] [partMiB=64] [parallel=4]
 */
public class MultipartBench {

    static final String KEY = "bench-access-key";
    static final String SECRET = "bench-secret-key";

    public static void main(String[] args) throws Exception {
        long size = Long.parseLong(args.length > 0 ? args[0] : "4096") << 20;
        long part = Long.parseLong(args.length > 1 ? args[1] : "64") << 20;
        int parallel = Integer.parseInt(args.length > 2 ? args[2] : "4");
        Path work = Files.createDirectories(Path.of("target/multipart-bench")).toAbsolutePath();
        deleteTree(work.resolve("s3"));
        Files.createDirectories(work.resolve("s3"));
        int port = freePort();
        Path props = work.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port, "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + KEY, "s3proxy.credential=" + SECRET,
                "jclouds.provider=filesystem", "jclouds.filesystem.basedir=" + work.resolve("s3"),
                "jclouds.identity=" + KEY, "jclouds.credential=" + SECRET, ""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process s3proxy = new ProcessBuilder(java, "-Xmx512m", "-jar", Path.of("target/emulators/s3proxy.jar").toAbsolutePath().toString(),
                "--properties", props.toString()).redirectErrorStream(true).redirectOutput(work.resolve("s3proxy.log").toFile()).start();
        Path file = work.resolve("object.bin");
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        var creds = StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET));
        try (S3Client s3 = S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder().socketTimeout(Duration.ofMinutes(10)))
                .endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(creds).forcePathStyle(true)
                .overrideConfiguration(o -> o.addExecutionInterceptor(new io.dubhub.s3.NoExpectContinue())).build();
             S3Presigner presigner = S3Presigner.builder().endpointOverride(endpoint).region(Region.US_EAST_1).credentialsProvider(creds)
                     .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build()) {
            waitForS3(s3, s3proxy);
            s3.createBucket(c -> c.bucket("bench-out"));
            writeRandom(file, size);
            BulkHttp http = new BulkHttp(Duration.ofSeconds(10), Duration.ofMinutes(5));

            settle();
            long started = System.nanoTime();
            String uploadId = s3.createMultipartUpload(c -> c.bucket("bench-out").key("multipart.bin")).uploadId();
            int parts = (int) ((size + part - 1) / part);
            ExecutorService pool = Executors.newFixedThreadPool(parallel);
            List<Future<CompletedPart>> pending = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                int number = i + 1;
                long offset = i * part;
                long length = Math.min(part, size - offset);
                pending.add(pool.submit(() -> {
                    URI url = URI.create(presigner.presignUploadPart(p -> p.signatureDuration(Duration.ofHours(1))
                            .uploadPartRequest(u -> u.bucket("bench-out").key("multipart.bin").uploadId(uploadId).partNumber(number)))
                            .url().toString());
                    BulkHttp.Answer answer = http.put(url, file, offset, length, Map.of());
                    if (!answer.ok()) {
                        throw new IllegalStateException("part " + number + ": HTTP " + answer.status() + " " + answer.body());
                    }
                    return CompletedPart.builder().partNumber(number).eTag(answer.header("ETag")).build();
                }));
            }
            List<CompletedPart> done = new ArrayList<>();
            for (Future<CompletedPart> f : pending) {
                done.add(f.get());
            }
            pool.shutdown();
            long partsDone = System.nanoTime();
            s3.completeMultipartUpload(c -> c.bucket("bench-out").key("multipart.bin").uploadId(uploadId).multipartUpload(m -> m.parts(done)));
            long completed = System.nanoTime();

            settle();
            URI single = URI.create(presigner.presignPutObject(p -> p.signatureDuration(Duration.ofHours(1))
                    .putObjectRequest(r -> r.bucket("bench-out").key("single.bin"))).url().toString());
            long singleStarted = System.nanoTime();
            BulkHttp.Answer answer = http.put(single, file, 0, size, Map.of());
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
        Random random = new Random(7);
        byte[] block = new byte[1 << 20];
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long left = size; left > 0; ) {
                random.nextBytes(block);
                int n = (int) Math.min(block.length, left);
                out.write(ByteBuffer.wrap(block, 0, n));
                left -= n;
            }
        }
    }

    /** Dirty pages written back before each timed upload, so neither pays for what came before. */
    static void settle() throws Exception {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
    }

    static void waitForS3(S3Client s3, Process s3proxy) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (System.nanoTime() < deadline) {
            if (!s3proxy.isAlive()) {
                throw new IllegalStateException("S3Proxy exited");
            }
            try {
                s3.listBuckets();
                return;
            } catch (Exception notYet) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("S3Proxy did not start");
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

import io.dubhub.sandbox.SyntheticVideo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Streams one big file through the sandbox hub (upload to the simulated dublab storage, then the
 * dubbed output back into the outbox) and prints the figures: start-up time, RSS idle and at peak,
 * wall time and throughput. A program, not a test: these machines are shared and noisy.
 *
 * Run after `./mvnw -B -DskipTests package`:
 *   java -cp target/quarkus-app/app/dubhub-0.1.0-SNAPSHOT.jar bench/StreamBench.java [sizeMiB] [heap]
 */
public class StreamBench {

    public static void main(String[] args) throws Exception {
        long sizeMiB = args.length > 0 ? Long.parseLong(args[0]) : 1024;
        String heap = args.length > 1 ? args[1] : "256m";
        Path data = Files.createTempDirectory("dubhub-bench-");
        int port = 18700 + (int) (Math.random() * 200);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-Dquarkus.profile=sandbox", "-Dquarkus.http.port=" + port,
                "-Dhub.public-base-url=http://127.0.0.1:" + port, "-Dhub.data-dir=" + data,
                "-Dhub.sandbox.demo-inbox=false", "-Dhub.sandbox.stage-duration=500ms",
                "-Dhub.providers.dublab.poll-interval=1s",
                "-jar", "target/quarkus-app/quarkus-run.jar"));
        Path log = data.resolve("hub.log");
        long t0 = System.nanoTime();
        Process hub = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        try {
            while (true) {
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/live")).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        break;
                    }
                } catch (IOException notYet) {
                    // still starting
                }
                if (!hub.isAlive()) {
                    throw new IllegalStateException("hub exited; see " + log);
                }
                Thread.sleep(50);
            }
            double startup = (System.nanoTime() - t0) / 1e9;
            Thread.sleep(3000);
            long idleRss = rssKiB(hub.pid(), "VmRSS");

            Path inbox = data.resolve("inbox/dublab");
            Files.createDirectories(inbox);
            Files.writeString(inbox.resolve("big.mp4.job.json"), "{\"targetLanguages\":[\"es\"]}");
            Path staging = data.resolve(".big.mp4");
            SyntheticVideo.writeMp4(staging, Duration.ofMinutes(30), 1920, 1080, sizeMiB * 1024 * 1024);
            long t1 = System.nanoTime();
            Files.move(staging, inbox.resolve("big.mp4"), StandardCopyOption.ATOMIC_MOVE);
            Path manifest = data.resolve("outbox/big/job.json");
            long peak = idleRss;
            while (!Files.exists(manifest)) {
                peak = Math.max(peak, rssKiB(hub.pid(), "VmRSS"));
                if (!hub.isAlive()) {
                    throw new IllegalStateException("hub exited; see " + log);
                }
                Thread.sleep(100);
            }
            double wall = (System.nanoTime() - t1) / 1e9;
            long hwm = rssKiB(hub.pid(), "VmHWM");
            long outBytes = Files.size(data.resolve("outbox/big/es/big.es.mp4"));
            System.out.printf("size                 %d MiB (one language: uploaded once, downloaded once)%n", sizeMiB);
            System.out.printf("heap cap             -Xmx%s%n", heap);
            System.out.printf("startup (to live)    %.2f s%n", startup);
            System.out.printf("RSS idle             %d MiB%n", idleRss / 1024);
            System.out.printf("RSS peak (sampled)   %d MiB%n", peak / 1024);
            System.out.printf("RSS high-water mark  %d MiB%n", hwm / 1024);
            System.out.printf("drop → job.json      %.1f s (includes SHA-256 at intake, settle time 3 s, simulated stages 1 s, polls)%n", wall);
            System.out.printf("bytes moved          %d MiB up + %d MiB down; %.0f MiB/s overall%n", sizeMiB, outBytes >> 20,
                    (sizeMiB + (outBytes >> 20)) / wall);
        } finally {
            hub.destroy();
            hub.waitFor();
            try (var files = Files.walk(data)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static long rssKiB(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}

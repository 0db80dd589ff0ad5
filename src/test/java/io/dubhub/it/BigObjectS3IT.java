package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.s3.S3FileUpload;
import io.dubhub.sandbox.SyntheticVideo;
import io.dubhub.testing.S3ProxyProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A 200 MiB object goes bucket → dublab (simulated, in the same process) → S3 sink with the hub's
 * heap capped at 128 MiB, so nothing on the way may hold the object in memory. The hub exits on
 * the first OutOfMemoryError (-XX:+ExitOnOutOfMemoryError), so "still alive, outputs complete"
 * means no OOM anywhere. S3Proxy keeps its objects on disk here (its heap is not under test).
 */
class BigObjectS3IT {

    static final long SIZE = 200L * 1024 * 1024;
    private final ObjectMapper json = new ObjectMapper();
    private S3ProxyProcess s3proxy;
    private HubProcess hub;

    @AfterEach
    void stop() throws Exception {
        if (hub != null) {
            hub.close();
        }
        if (s3proxy != null) {
            s3proxy.close();
        }
    }

    @Test
    void twoHundredMiBObjectStreamsThroughA128MiBHeap() throws Exception {
        Path root = Path.of("target", "it-data", "big-" + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        s3proxy = S3ProxyProcess.startOnFilesystem(root.resolve("s3"));
        S3Client s3 = s3proxy.client();
        s3proxy.createBucket("big-src");
        s3proxy.createBucket("big-out");

        Path video = root.resolve("big.mp4");
        SyntheticVideo.writeMp4(video, Duration.ofMinutes(10), 1280, 720, SIZE);
        String sourceSha = sha256(Files.newInputStream(video));
        // In place before the hub starts: S3Proxy's filesystem store lists an upload in progress as
        // '<key>-<uuid>' (real S3 never shows unfinished uploads), which a scan would take as a source.
        // In parts, as any client uploading 200 MiB would (each part has its own timeout on a loaded machine).
        S3FileUpload.upload(s3, "big-src", "big.mp4", video, SIZE, "video/mp4");
        Files.delete(video);

        Path routes = Files.createDirectories(root.resolve("config/routes"));
        Files.writeString(routes.resolve("bucket.yaml"), """
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: big-bucket
                    parameters:
                      - {name: bucket, value: big-src}
                      - {name: provider, value: dublab}
                      - {name: sourceLanguage, value: en}
                      - {name: targetLanguages, value: es}
                      - {name: scanDelay, value: "1000"}
                      - {name: sink, value: "s3://big-out/dubs"}
                      - {name: afterJob, value: move}
                """);
        int port = HubProcess.freePort();
        hub = new HubProcess("big-s3", port, List.of(
                "-Xmx128m", "-XX:+ExitOnOutOfMemoryError",
                "-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + root.resolve("hub"),
                "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.sandbox.stage-duration=500ms",
                "-Dhub.providers.dublab.poll-interval=1s",
                "-Dhub.public-base-url=http://127.0.0.1:" + port),
                Map.of("HUB_CONFIG_DIR", root.resolve("config").toString(),
                        "HUB_S3_ENDPOINT", s3proxy.endpoint().toString(),
                        "HUB_S3_REGION", s3proxy.region(),
                        "HUB_S3_ACCESS_KEY", s3proxy.accessKey(),
                        "HUB_S3_SECRET_KEY", s3proxy.secretKey(),
                        "HUB_S3_PATH_STYLE", "true")).start();


        await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            assertThat(hub.isAlive()).as("hub process alive (see " + hub.log() + ")").isTrue();
            return exists(s3, "big-out", "dubs/big/job.json");
        });
        JsonNode manifest = json.readTree(s3.getObjectAsBytes(g -> g.bucket("big-out").key("dubs/big/job.json")).asByteArray());
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        JsonNode video0 = null;
        for (JsonNode o : manifest.get("outputs")) {
            if (o.get("path").asText().endsWith(".mp4")) {
                video0 = o;
            }
        }
        assertThat(video0).as("dubbed video in " + manifest.get("outputs")).isNotNull();
        String key = "dubs/big/" + video0.get("path").asText();
        assertThat(video0.get("bytes").asLong()).isEqualTo(SIZE);
        assertThat(s3.headObject(h -> h.bucket("big-out").key(key)).contentLength()).isEqualTo(SIZE);
        String sinkSha = sha256(s3.getObject(g -> g.bucket("big-out").key(key), ResponseTransformer.toInputStream()));
        // the simulator "dubs" by returning the uploaded video: the bytes made the whole round trip
        assertThat(sinkSha).isEqualTo(video0.get("sha256").asText()).isEqualTo(sourceSha);
        // moved = copied, then the original deleted (the copy alone takes seconds here)
        await().atMost(Duration.ofSeconds(60)).until(() -> exists(s3, "big-src", "_dubhub/done/big.mp4")
                && !exists(s3, "big-src", "big.mp4"));

        assertThat(hub.isAlive()).isTrue();
        String log = Files.readString(hub.log());
        assertThat(log).doesNotContain("OutOfMemoryError");
        // multipart: create, one presigned PUT per part, complete
        long part = S3FileUpload.Layout.DEFAULT.partSize();
        long requests = (SIZE + part - 1) / part + 2;
        assertThat(log).containsPattern("Uploaded s3://big-out/dubs/big/es/\\S+\\.mp4: " + SIZE + " bytes .*, " + requests + " request");
    }

    private static boolean exists(S3Client s3, String bucket, String key) {
        try {
            s3.headObject(h -> h.bucket(bucket).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    private static String sha256(InputStream stream) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = stream) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}

package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.SpeechLabSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.dubhub.testing.S3ProxyResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * SpeechLab's URL path for an object from a watched bucket: SpeechLab's worker reads the object
 * through a presigned GET of S3Proxy (checked signature), never an s3:// URI, and nothing passes
 * through the hub's upload path.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = S3ProxyResource.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "buckets", value = SpeechLabFromBucketTest.BUCKET))
class SpeechLabFromBucketTest {

    static final String BUCKET = "speechlab-sources";

    @Inject
    CamelContext camel;

    @Inject
    S3Client s3;

    @Inject
    SpeechLabSimulator sim;

    @Inject
    HubConfig config;

    @Test
    void aBucketObjectIsFetchedBySpeechLabThroughAPresignedGet() throws Exception {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(200));
        TemplatedRouteBuilder.builder(camel, "watch-bucket").routeId("speechlab-bucket")
                .parameter("bucket", BUCKET).parameter("prefix", "in/").parameter("provider", "speechlab")
                .parameter("sourceLanguage", "en").parameter("targetLanguages", "es").parameter("scanDelay", "300")
                .add();
        Path dir = Files.createTempDirectory("speechlab-bucket");
        Path video = Drops.video(dir, "keynote.mp4", Duration.ofSeconds(30));
        String sha = Drops.sha256(video);
        long size = Files.size(video);
        s3.putObject(p -> p.bucket(BUCKET).key("in/keynote.mp4"), RequestBody.fromFile(video));

        Path manifestFile = Path.of(config.dataDir(), "outbox", "keynote", "job.json");
        await().atMost(Duration.ofSeconds(90)).until(() -> Files.exists(manifestFile));
        JsonNode manifest = new ObjectMapper().readTree(manifestFile.toFile());

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.fetchedBytes(manifest.get("jobId").asText())).isEqualTo(size);
        assertThat(Drops.sha256(Path.of(config.dataDir(), "outbox/keynote/es/keynote.es.mp4"))).isEqualTo(sha);
        assertThat(sim.calls("createProjectAndDub")).isEqualTo(1);
        assertThat(sim.calls("initialize-multipart-upload") + sim.calls("createProjectAndTranscribe")).isZero();
        String events = manifest.get("events").toString();
        assertThat(events).contains("SpeechLab fetches the source from http://127.0.0.1:")
                .contains("/" + BUCKET + "/in/keynote.mp4").contains("X-Amz-Signature=REDACTED")
                .doesNotContain("s3://" + BUCKET + "/in/keynote.mp4?");
    }
}

package io.dubhub.intake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.job.JobState;
import io.dubhub.ledger.JobLedger;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.dubhub.testing.S3ProxyResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The watch-bucket template against a real S3Proxy, delivering to the folder outbox. */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = S3ProxyResource.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "buckets", value = BucketIntakeTest.BUCKET))
class BucketIntakeTest {

    static final String BUCKET = "bucket-intake";
    static final String PREFIX = "to-dub/";
    static final String ROUTE = "bucket-test";
    static final Duration WAIT = Duration.ofSeconds(60);
    static final JobSpecReader.Defaults DEFAULTS = new JobSpecReader.Defaults("en", "es", "{}");

    @Inject
    CamelContext camel;

    @Inject
    S3Client s3;

    @Inject
    BucketIntake buckets;

    @Inject
    JobLedger ledger;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void route() throws Exception {
        if (camel.getRoute(ROUTE) == null) {
            TemplatedRouteBuilder.builder(camel, "watch-bucket").routeId(ROUTE)
                    .parameter("bucket", BUCKET).parameter("prefix", PREFIX).parameter("provider", "dublab")
                    .parameter("sourceLanguage", "en").parameter("targetLanguages", "es").parameter("scanDelay", "300")
                    .add();
        }
    }

    static byte[] video() throws Exception {
        Path dir = Files.createTempDirectory("bucket-src");
        Path f = Drops.video(dir, "v.mp4", Duration.ofSeconds(2));
        byte[] bytes = Files.readAllBytes(f);
        Files.delete(f);
        Files.delete(dir);
        return bytes;
    }

    JsonNode awaitManifest(String stem) throws Exception {
        Path manifest = Path.of(config.dataDir(), "outbox", stem, "job.json");
        await().atMost(WAIT).until(() -> Files.exists(manifest));
        return json.readTree(manifest.toFile());
    }

    List<Job> jobsFor(String key) {
        return ledger.list(null, "dublab", 1000).stream()
                .filter(j -> j.sourceKey() != null && j.sourceKey().startsWith("s3://" + BUCKET + "/" + key + "|")).toList();
    }

    long delivered(String key) {
        return jobsFor(key).stream().filter(j -> j.state() == JobState.DELIVERED).count();
    }

    void put(String key, byte[] body) {
        s3.putObject(p -> p.bucket(BUCKET).key(key), RequestBody.fromBytes(body));
    }

    @Test
    void droppedObjectIsDeliveredOnceAndLeftInTheBucket() throws Exception {
        String stem = "bucket-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        put(key, video());

        JsonNode manifest = awaitManifest(stem);
        assertThat(manifest.toString()).contains("\"es\"");
        // later scans (the route runs every 300 ms, and one more by hand) take nothing new
        Thread.sleep(1_000);
        assertThat(buckets.scan(ROUTE, BUCKET, PREFIX, "dublab", DEFAULTS, null)).isEmpty();
        assertThat(jobsFor(key)).hasSize(1);
        assertThat(s3.headObject(h -> h.bucket(BUCKET).key(key)).contentLength()).isPositive();
    }

    @Test
    void overwrittenObjectIsANewJob() throws Exception {
        String stem = "again-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        byte[] first = video();
        put(key, first);
        await().atMost(WAIT).until(() -> delivered(key) == 1);

        byte[] second = video();
        while (Arrays.equals(first, second)) {
            second = video();
        }
        put(key, second);
        await().atMost(WAIT).until(() -> delivered(key) == 2);
        assertThat(jobsFor(key)).hasSize(2);
    }

    @Test
    void sidecarIsHonoured() throws Exception {
        String stem = "sidecar-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        put(key + ".job.json", "{\"targetLanguages\": [\"de\", \"fr\"]}".getBytes());
        put(key, video());

        JsonNode manifest = awaitManifest(stem);
        assertThat(manifest.toString()).contains("\"de\"").contains("\"fr\"");
    }

    @Test
    void partialUploadsHubKeysAndSidecarsAreIgnored() throws Exception {
        String stem = "partial-" + UUID.randomUUID().toString().substring(0, 6);
        byte[] body = video();
        put(PREFIX + stem + ".mp4.part", body);
        put(PREFIX + "_dubhub/" + stem + ".mp4", body);
        put(PREFIX + "orphan-" + stem + ".mp4.job.json", "{}".getBytes());

        Thread.sleep(1_500);
        assertThat(buckets.scan(ROUTE, BUCKET, PREFIX, "dublab", DEFAULTS, null)).isEmpty();
        assertThat(jobsFor(PREFIX + stem + ".mp4.part")).isEmpty();
        assertThat(jobsFor(PREFIX + "_dubhub/" + stem + ".mp4")).isEmpty();
        assertThat(jobsFor(PREFIX + "orphan-" + stem + ".mp4.job.json")).isEmpty();
    }

    @Test
    void missingBucketIsReportedWithoutStoppingTheHub() {
        String route = "bucket-missing";
        assertThat(buckets.scan(route, "no-such-bucket-" + UUID.randomUUID().toString().substring(0, 6), "",
                "dublab", DEFAULTS, null)).isEmpty();
        assertThat(buckets.problems()).containsKey(route);
        given().when().get("/q/health/ready").then().statusCode(503);
        given().when().get("/q/health/live").then().statusCode(200);
    }
}

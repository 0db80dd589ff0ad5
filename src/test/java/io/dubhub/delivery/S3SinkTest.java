package io.dubhub.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.intake.BucketIntake;
import io.dubhub.intake.JobSpecReader;
import io.dubhub.job.Job;
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
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The S3 sink and the bucket source's afterJob against a real S3Proxy: outputs and job.json land
 * in the sink bucket with the bytes the manifest describes; sources are moved as the route says.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = S3ProxyResource.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "buckets", value = S3SinkTest.SOURCE + "," + S3SinkTest.SINK))
class S3SinkTest {

    static final String SOURCE = "sink-src";
    static final String SINK = "sink-out";
    static final String PREFIX = "to-dub/";
    static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    CamelContext camel;

    @Inject
    S3Client s3;

    @Inject
    JobLedger ledger;

    @Inject
    BucketIntake buckets;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void routes() throws Exception {
        if (camel.getRoute("bucket-to-s3") == null) {
            TemplatedRouteBuilder.builder(camel, "watch-bucket").routeId("bucket-to-s3")
                    .parameter("bucket", SOURCE).parameter("prefix", PREFIX).parameter("provider", "dublab")
                    .parameter("sourceLanguage", "en").parameter("targetLanguages", "es").parameter("scanDelay", "300")
                    .parameter("sink", "s3://" + SINK + "/dubs").parameter("afterJob", "move")
                    .add();
            TemplatedRouteBuilder.builder(camel, "watch-folder").routeId("folder-to-s3")
                    .parameter("folder", folderInbox().toString()).parameter("provider", "dublab")
                    .parameter("sourceLanguage", "en").parameter("targetLanguages", "es").parameter("settleTime", "500")
                    .parameter("scanDelay", "300").parameter("sink", "s3://" + SINK + "/from-folder/")
                    .add();
        }
    }

    Path folderInbox() {
        return Path.of(config.dataDir(), "inbox-s3");
    }

    static byte[] video() throws Exception {
        Path dir = Files.createTempDirectory("sink-src");
        Path f = Drops.video(dir, "v.mp4", Duration.ofSeconds(2));
        byte[] bytes = Files.readAllBytes(f);
        Files.delete(f);
        Files.delete(dir);
        return bytes;
    }

    void put(String bucket, String key, byte[] body) {
        s3.putObject(p -> p.bucket(bucket).key(key), RequestBody.fromBytes(body));
    }

    boolean exists(String bucket, String key) {
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

    JsonNode awaitManifest(String key) throws Exception {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> exists(SINK, key));
        return json.readTree(s3.getObjectAsBytes(g -> g.bucket(SINK).key(key)).asByteArray());
    }

    String sha256(String bucket, String key) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = s3.getObject(g -> g.bucket(bucket).key(key), ResponseTransformer.toInputStream())) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Every output the manifest lists is in the sink folder with exactly those bytes. */
    void assertOutputsMatch(String folder, JsonNode manifest) throws Exception {
        assertThat(manifest.get("outputs")).isNotEmpty();
        for (JsonNode o : manifest.get("outputs")) {
            String key = folder + o.get("path").asText();
            var head = s3.headObject(h -> h.bucket(SINK).key(key));
            assertThat(head.contentLength()).as(key).isEqualTo(o.get("bytes").asLong());
            assertThat(sha256(SINK, key)).as(key).isEqualTo(o.get("sha256").asText());
        }
    }

    @Test
    void bucketObjectIsDeliveredToTheSinkBucketAndMovedToDone() throws Exception {
        String stem = "talk-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        put(SOURCE, key + ".job.json", "{\"targetLanguages\":[\"es\",\"de\"]}".getBytes());
        put(SOURCE, key, video());

        JsonNode manifest = awaitManifest("dubs/" + stem + "/job.json");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("languages").has("es")).isTrue();
        assertThat(manifest.get("languages").has("de")).isTrue();
        assertOutputsMatch("dubs/" + stem + "/", manifest);
        assertThat(manifest.toString()).contains("es/").contains("de/");
        // the hub's copy of the object went as soon as dublab had the bytes, not at the job's end
        assertThat(manifest.get("events").toString()).contains("removed the hub's copy of the bucket object: dublab has it");
        assertThat(jobsFor(stem)).singleElement().satisfies(j -> assertThat(Path.of(j.sourceLocation())).doesNotExist());

        await().atMost(WAIT).until(() -> exists(SOURCE, PREFIX + "_dubhub/done/" + stem + ".mp4"));
        assertThat(exists(SOURCE, key)).isFalse();
        assertThat(exists(SOURCE, PREFIX + "_dubhub/done/" + stem + ".mp4.job.json")).isTrue();
        assertThat(exists(SOURCE, key + ".job.json")).isFalse();
        // the moved object is never taken again
        Thread.sleep(1000);
        assertThat(jobsFor(stem)).hasSize(1);
    }

    @Test
    void theSameBytesUploadedAgainAfterTheirJobMovedThemAreANewDropExplainedAndNotPaidTwice() throws Exception {
        String stem = "again-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        byte[] bytes = video();
        put(SOURCE, key, bytes);
        awaitManifest("dubs/" + stem + "/job.json");
        await().atMost(WAIT).until(() -> exists(SOURCE, PREFIX + "_dubhub/done/" + stem + ".mp4") && !exists(SOURCE, key));

        put(SOURCE, key, bytes); // same key, same bytes, so the same ETag and ledger key as the delivered job

        String errorKey = PREFIX + "_dubhub/failed/" + stem + ".mp4.error.json";
        await().atMost(WAIT).until(() -> exists(SOURCE, errorKey));
        JsonNode error = json.readTree(s3.getObjectAsBytes(g -> g.bucket(SOURCE).key(errorKey)).asByteArray());
        assertThat(error.get("reason").asText()).contains("was already dubbed as job").contains("nothing was paid twice");
        assertThat(jobsFor(stem)).as("one job was submitted and paid for").hasSize(1);
        assertThat(ledger.list(null, "dublab", 1000).stream().filter(j -> j.sourceKey().startsWith("s3://" + SOURCE + "/" + key + "|")
                && j.sourceKey().contains("|duplicate:"))).as("the second upload is on record as the duplicate it was").hasSize(1);
    }

    @Test
    void sameStemFromAnotherJobGetsItsOwnFolder() throws Exception {
        String stem = "clash-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        put(SOURCE, key, video());
        awaitManifest("dubs/" + stem + "/job.json");
        await().atMost(WAIT).until(() -> !exists(SOURCE, key));

        put(SOURCE, key, video());
        await().atMost(WAIT).until(() -> jobsFor(stem).size() == 2
                && jobsFor(stem).stream().allMatch(j -> j.outboxDir() != null && exists(SINK, j.outboxDir()
                .substring(("s3://" + SINK + "/").length()) + "job.json")));
        List<String> dirs = jobsFor(stem).stream().map(Job::outboxDir).sorted().toList();
        assertThat(dirs).hasSize(2).doesNotHaveDuplicates();
        assertThat(dirs).anyMatch(d -> d.equals("s3://" + SINK + "/dubs/" + stem + "/"));
        assertThat(dirs).anyMatch(d -> d.startsWith("s3://" + SINK + "/dubs/" + stem + "-"));
        // the second source met the first in done/ and got its job id added (moved just after its job.json is written)
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(s3.listObjectsV2(l -> l.bucket(SOURCE).prefix(PREFIX + "_dubhub/done/" + stem)).contents()).hasSize(2));
    }

    @Test
    void failedJobMovesTheSourceToFailedWithItsReasons() throws Exception {
        String stem = "broken-" + UUID.randomUUID().toString().substring(0, 6);
        String key = PREFIX + stem + ".mp4";
        put(SOURCE, key + ".job.json", "{\"targetLanguages\": \"es\"".getBytes());
        put(SOURCE, key, video());

        String errorKey = PREFIX + "_dubhub/failed/" + stem + ".mp4.error.json";
        await().atMost(WAIT).until(() -> exists(SOURCE, errorKey));
        JsonNode error = json.readTree(s3.getObjectAsBytes(g -> g.bucket(SOURCE).key(errorKey)).asByteArray());
        assertThat(error.get("reason").asText()).contains("not valid JSON");
        assertThat(error.get("source").asText()).isEqualTo("s3://" + SOURCE + "/" + key);
        assertThat(exists(SOURCE, PREFIX + "_dubhub/failed/" + stem + ".mp4")).isTrue();
        assertThat(exists(SOURCE, key)).isFalse();
        assertThat(exists(SINK, "dubs/" + stem + "/job.json")).isFalse();
    }

    @Test
    void folderSourceCanDeliverToTheSinkBucket() throws Exception {
        String stem = "folder-" + UUID.randomUUID().toString().substring(0, 6);
        Files.createDirectories(folderInbox());
        Path staging = Files.createTempDirectory(Path.of(config.dataDir()), ".staging");
        Path file = Drops.video(staging, stem + ".mp4", Duration.ofSeconds(2));
        Drops.moveIn(file, folderInbox(), stem + ".mp4");

        JsonNode manifest = awaitManifest("from-folder/" + stem + "/job.json");
        assertThat(manifest.get("source").get("name").asText()).isEqualTo(stem + ".mp4");
        assertOutputsMatch("from-folder/" + stem + "/", manifest);
        await().atMost(WAIT).until(() -> Files.exists(Path.of(config.dataDir(), "done", "dublab", stem + ".mp4")));
        assertThat(Path.of(config.dataDir(), "outbox", stem)).doesNotExist();
    }

    @Test
    void laterPollsListButAskTheLedgerOnlyAboutNewObjects() throws Exception {
        String prefix = "scale-" + UUID.randomUUID().toString().substring(0, 6) + "/";
        byte[] body = video();
        for (int i = 0; i < 25; i++) {
            put(SOURCE, prefix + "clip-" + i + ".mp4", body);
        }
        var defaults = new JobSpecReader.Defaults("en", "es", "{}");
        assertThat(buckets.scan("scale-test", SOURCE, prefix, "dublab", defaults, null)).hasSize(25);
        assertThat(buckets.lastScan("scale-test").orElseThrow().ledgerLookups()).isEqualTo(1);

        assertThat(buckets.scan("scale-test", SOURCE, prefix, "dublab", defaults, null)).isEmpty();
        var again = buckets.lastScan("scale-test").orElseThrow();
        assertThat(again.listed()).isGreaterThanOrEqualTo(25);
        assertThat(again.ledgerLookups()).isZero();

        put(SOURCE, prefix + "clip-new.mp4", body);
        assertThat(buckets.scan("scale-test", SOURCE, prefix, "dublab", defaults, null)).hasSize(1);
        assertThat(buckets.lastScan("scale-test").orElseThrow().ledgerLookups()).isEqualTo(1);
    }

    List<Job> jobsFor(String stem) {
        return ledger.list(null, "dublab", 1000).stream()
                .filter(j -> j.sourceKey().startsWith("s3://" + SOURCE + "/" + PREFIX + stem + ".mp4|")
                        && !j.sourceKey().contains("|duplicate:")).toList();
    }
}

package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.sandbox.SyntheticVideo;
import io.dubhub.testing.PostgresLedger;
import io.dubhub.testing.S3ProxyProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two hub processes on one PostgreSQL ledger watching one shared inbox and one shared bucket
 * prefix: every file and every object becomes one job, dublab sees one create per source, and when
 * one replica is killed with SIGKILL its jobs are taken over by the other once their leases expire.
 */
class TwoReplicasIT {

    static final int FILES = 10;
    static final int OBJECTS = 6;

    private final ObjectMapper json = new ObjectMapper();
    private HubProcess simulator;
    private HubProcess replicaA;
    private HubProcess replicaB;
    private PostgresLedger ledger;
    private S3ProxyProcess s3;

    @AfterEach
    void stopAll() throws Exception {
        for (HubProcess p : new HubProcess[]{replicaA, replicaB, simulator}) {
            if (p != null) {
                p.close();
            }
        }
        if (ledger != null) {
            ledger.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private int calls(String operation) throws Exception {
        return json.readTree(simulator.get("/sandbox/dublab/_control/calls").body()).path(operation).asInt(0);
    }

    @Test
    void everyFileOnceAndAKilledReplicasJobsAreTakenOver() throws Exception {
        Path root = Path.of("target", "it-data", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        Path shared = root.resolve("shared");
        int simPort = HubProcess.freePort();
        simulator = new HubProcess("simulator", simPort, List.of(
                "-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + root.resolve("simulator"),
                "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of()).start();
        simulator.post("/sandbox/dublab/_control/reset");
        simulator.post("/sandbox/dublab/_control/stage-duration?millis=1500");
        ledger = PostgresLedger.create();
        s3 = S3ProxyProcess.start();
        String in = s3.createBucket("shared-in-" + UUID.randomUUID().toString().substring(0, 6));
        String out = s3.createBucket("shared-out-" + UUID.randomUUID().toString().substring(0, 6));
        // both replicas run the shipped folder routes plus one watch-bucket route on the same prefix
        Path config = Files.createDirectories(root.resolve("config/routes"));
        Files.copy(Path.of("config/routes/inbox.yaml"), config.resolve("inbox.yaml"));
        Files.writeString(config.resolve("bucket.yaml"), """
                - templatedRoute:
                    routeTemplateRef: watch-bucket
                    routeId: shared-bucket
                    parameters:
                      - {name: bucket, value: %s}
                      - {name: prefix, value: "to-dub/"}
                      - {name: provider, value: dublab}
                      - {name: sourceLanguage, value: en}
                      - {name: targetLanguages, value: es}
                      - {name: scanDelay, value: "500"}
                      - {name: sink, value: "s3://%s/out"}
                """.formatted(in, out));

        Map<String, String> common = new HashMap<>(Map.of(
                "HUB_DATA_DIR", shared.toString(),
                "HUB_LEDGER_JDBC_URL", ledger.jdbcUrl(),
                "HUB_LEDGER_USERNAME", ledger.username(),
                "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:" + simPort + "/sandbox/dublab/api/v1",
                "HUB_PROVIDERS_DUBLAB_API_KEY", "sandbox-dublab-key",
                "HUB_PROVIDERS_DUBLAB_POLL_INTERVAL", "1s",
                "HUB_POLL_TICK", "300ms",
                "HUB_POLL_LEASE", "4s",
                "HUB_POLL_LEASE_RENEWAL", "1s"));
        common.putAll(Map.of(
                "HUB_CONFIG_DIR", root.resolve("config").toString(),
                "HUB_S3_ENDPOINT", s3.endpoint().toString(),
                "HUB_S3_ACCESS_KEY", s3.accessKey(),
                "HUB_S3_SECRET_KEY", s3.secretKey(),
                "HUB_S3_REGION", s3.region(),
                "HUB_S3_PATH_STYLE", "true"));
        if (ledger.password() != null) {
            common.put("HUB_LEDGER_PASSWORD", ledger.password());
        }
        Map<String, String> envA = new HashMap<>(common);
        envA.put("HUB_INSTANCE_ID", "replica-a");
        Map<String, String> envB = new HashMap<>(common);
        envB.put("HUB_INSTANCE_ID", "replica-b");
        int portA = HubProcess.freePort();
        int portB = HubProcess.freePort();
        replicaA = new HubProcess("replica-a", portA, List.of(), envA).start();
        replicaB = new HubProcess("replica-b", portB, List.of(), envB).start();

        Path inbox = shared.resolve("inbox/dublab");
        Files.createDirectories(inbox);
        for (int i = 1; i <= FILES; i++) {
            Path staging = Files.createTempFile(shared, ".staging-", ".mp4");
            SyntheticVideo.writeMp4(staging, Duration.ofSeconds(20 + i), 640, 360, 128 * 1024);
            Files.move(staging, inbox.resolve("talk-" + i + ".mp4"), StandardCopyOption.ATOMIC_MOVE);
        }
        for (int i = 1; i <= OBJECTS; i++) {
            Path video = Files.createTempFile(root, "object-", ".mp4");
            SyntheticVideo.writeMp4(video, Duration.ofSeconds(20 + i), 640, 360, 128 * 1024);
            String key = "to-dub/clip-" + i + ".mp4";
            s3.client().putObject(b -> b.bucket(in).key(key).contentType("video/mp4"), RequestBody.fromFile(video));
        }

        // kill A as soon as it has a job at dublab that is not finished yet
        Pattern submitted = Pattern.compile("Job (\\S+) submitted to dublab");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                .until(() -> submitted.matcher(Files.readString(replicaA.log())).find());
        replicaA.kill();
        String logA = Files.readString(replicaA.log());
        Matcher m = submitted.matcher(logA);
        List<String> inFlightOnA = new java.util.ArrayList<>();
        while (m.find()) {
            if (!logA.contains("Job " + m.group(1) + " delivered")) {
                inFlightOnA.add(m.group(1));
            }
        }
        assertThat(inFlightOnA).isNotEmpty();

        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500))
                .until(() -> countRows("SELECT COUNT(*) FROM job WHERE state = 'DELIVERED'") == FILES + OBJECTS);

        assertThat(countRows("SELECT COUNT(*) FROM job")).as("one job per file and object").isEqualTo(FILES + OBJECTS);
        assertThat(countRows("SELECT COUNT(*) FROM job WHERE source_key LIKE 's3://%'")).isEqualTo(OBJECTS);
        // Paid once per source: dublab bills a dub when it completes, and only started dubs complete.
        assertThat(calls("start-dub")).as("one billable start per source").isEqualTo(FILES + OBJECTS);
        // A replica killed between dublab's create and its answer leaves a project whose upload link is lost;
        // the next attempt leaves it unstarted and creates one new project (DublabProvider.createGroup).
        JsonNode state = json.readTree(simulator.get("/sandbox/dublab/_control/state").body());
        Map<String, Integer> dubStatus = new HashMap<>();
        state.path("dubs").forEach(d -> dubStatus.put(d.path("fileId").asText(), d.path("externalStatusId").asInt()));
        int uploaded = 0;
        for (JsonNode project : state.path("projects")) {
            if (project.path("uploaded").asBoolean()) {
                uploaded++;
            } else {
                project.path("fileIds").forEach(f -> assertThat(dubStatus.get(f.asText()))
                        .as("a project abandoned after the kill is never started, so never billed").isEqualTo(1));
            }
        }
        assertThat(uploaded).as("one uploaded dublab project per source").isEqualTo(FILES + OBJECTS);
        int abandoned = state.path("projects").size() - uploaded;
        assertThat(calls("init-dub") + calls("init-dub-group") - (FILES + OBJECTS))
                .as("creates beyond one per source are the abandoned ones, at most one per job in flight on the killed replica")
                .isBetween(0, abandoned);
        for (int i = 1; i <= OBJECTS; i++) {
            String manifestKey = "out/clip-" + i + "/job.json";
            String manifest = s3.client().getObjectAsBytes(b -> b.bucket(out).key(manifestKey)).asUtf8String();
            assertThat(json.readTree(manifest).path("state").asText()).isEqualTo("delivered");
        }
        assertThat(s3.client().listObjectsV2(l -> l.bucket(out).prefix("out/")).contents().stream()
                .filter(o -> o.key().endsWith("/job.json")).count()).as("one sink folder per object, no -<job id> twins").isEqualTo(OBJECTS);
        String logB = Files.readString(replicaB.log());
        for (String id : inFlightOnA) {
            assertThat(logB).as("job %s of the killed replica finished by the other", id).contains("Job " + id + " delivered");
        }
        for (int i = 1; i <= FILES; i++) {
            assertThat(shared.resolve("outbox/talk-" + i + "/job.json")).exists();
            Path done = shared.resolve("done/dublab/talk-" + i + ".mp4");
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(done));
        }
        System.out.printf("TwoReplicasIT: %d files and %d objects; replica-a submitted %d before its kill (%d in flight), replica-b submitted %d;"
                        + " %d dublab project(s) left unstarted after the kill%n",
                FILES, OBJECTS, count(submitted, logA), inFlightOnA.size(), count(submitted, logB), abandoned);
        try (var files = Files.list(inbox)) {
            assertThat(files.map(f -> f.getFileName().toString()).toList()).as("nothing left behind in the inbox").isEmpty();
        }
    }

    private static int count(Pattern p, String text) {
        Matcher m = p.matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private long countRows(String sql) throws Exception {
        try (Connection c = ledger.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}

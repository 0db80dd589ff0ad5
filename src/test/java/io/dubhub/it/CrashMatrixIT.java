package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.pipeline.CrashPoints;
import io.dubhub.sandbox.SyntheticVideo;
import io.dubhub.testing.Drops;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The hub halted (as by kill -9) at each stage boundary of a dublab job, through the
 * HUB_FAULT_CRASH_AT fault-injection switch, then started again without it: the job is delivered,
 * dublab sees one dub group and one start per language, credits are spent once, and the outbox
 * never shows a file that the manifest does not list. (Mid-upload, mid-poll and right after the
 * create answer are covered by CrashRecoveryIT with real kills.)
 */
class CrashMatrixIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static HubProcess simulator;
    private static int simPort;
    private HubProcess hub;

    @BeforeAll
    static void startSimulator() throws Exception {
        Path root = Path.of("target", "it-data", "crash-matrix-sim-" + UUID.randomUUID().toString().substring(0, 6)).toAbsolutePath();
        simPort = HubProcess.freePort();
        simulator = new HubProcess("crash-matrix-simulator", simPort, List.of(
                "-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + root,
                "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of()).start();
    }

    @AfterAll
    static void stopSimulator() throws Exception {
        if (simulator != null) {
            simulator.close();
        }
    }

    @AfterEach
    void stopHub() throws Exception {
        if (hub != null) {
            hub.close();
        }
    }

    private static JsonNode control(String path) throws Exception {
        return JSON.readTree(simulator.get("/sandbox/dublab/_control" + path).body());
    }

    @ParameterizedTest
    @ValueSource(strings = {CrashPoints.AFTER_INTENT, CrashPoints.AFTER_CREATE_RECORDED, CrashPoints.MID_DOWNLOAD,
            CrashPoints.BEFORE_MANIFEST, CrashPoints.AFTER_MANIFEST})
    void haltedThereThenRestartedDeliversOncePaidOnce(String point) throws Exception {
        simulator.post("/sandbox/dublab/_control/reset");
        simulator.post("/sandbox/dublab/_control/stage-duration?millis=500");
        long creditsBefore = control("/credits").path("credits").asLong();
        Path data = Path.of("target", "it-data", "crash-" + point + "-" + UUID.randomUUID().toString().substring(0, 6)).toAbsolutePath();
        Map<String, String> env = Map.of(
                "HUB_DATA_DIR", data.toString(),
                "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:" + simPort + "/sandbox/dublab/api/v1",
                "HUB_PROVIDERS_DUBLAB_API_KEY", "sandbox-dublab-key",
                "HUB_PROVIDERS_DUBLAB_POLL_INTERVAL", "1s",
                "HUB_POLL_TICK", "300ms",
                "HUB_POLL_LEASE", "4s",
                "HUB_POLL_LEASE_RENEWAL", "1s");
        int port = HubProcess.freePort();
        hub = new HubProcess("crash-" + point, port, List.of("-Dhub.fault.crash-at=" + point), env).start();

        Path inbox = data.resolve("inbox/dublab");
        Files.createDirectories(inbox);
        Files.writeString(inbox.resolve("briefing.mp4.job.json"), "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}",
                StandardCharsets.UTF_8);
        Path staging = Files.createTempFile(data, ".staging-", ".mp4");
        SyntheticVideo.writeMp4(staging, Duration.ofSeconds(75), 640, 360, 192 * 1024);
        Files.move(staging, inbox.resolve("briefing.mp4"), StandardCopyOption.ATOMIC_MOVE);

        assertThat(hub.awaitExit(Duration.ofSeconds(90))).as("halted at " + point).isEqualTo(137);
        Path outbox = data.resolve("outbox/briefing");
        assertThat(outbox.resolve("job.json").toFile().exists()).isEqualTo(point.equals(CrashPoints.AFTER_MANIFEST));

        hub = new HubProcess("crash-" + point + "-restart", port, List.of(), env).start();
        Path manifestFile = outbox.resolve("job.json");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).until(() ->
                Files.exists(manifestFile) && Files.exists(data.resolve("done/dublab/briefing.mp4")));
        JsonNode manifest = JSON.readTree(manifestFile.toFile());

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        JsonNode calls = control("/calls");
        assertThat(calls.path("init-dub-group").asInt()).as("dub groups created").isEqualTo(1);
        assertThat(calls.path("start-dub").asInt()).as("dubs started").isEqualTo(2);
        // 75 s at dublab's per-started-minute rate: 2 credits per language, two languages, once
        assertThat(creditsBefore - control("/credits").path("credits").asLong()).isEqualTo(4);
        Set<String> listed = new HashSet<>();
        for (JsonNode o : manifest.get("outputs")) {
            Path file = outbox.resolve(o.get("path").asText());
            assertThat(Drops.sha256(file)).isEqualTo(o.get("sha256").asText());
            listed.add(o.get("path").asText());
        }
        listed.add("job.json");
        try (Stream<Path> files = Files.walk(outbox)) {
            assertThat(files.filter(Files::isRegularFile).map(f -> outbox.relativize(f).toString()).toList())
                    .as("nothing in the outbox that the manifest does not list").containsExactlyInAnyOrderElementsOf(listed);
        }
        System.out.printf("CrashMatrixIT %s: delivered %d outputs after restart, 1 group, 2 starts, 4 credits%n",
                point, manifest.get("outputs").size());
    }
}

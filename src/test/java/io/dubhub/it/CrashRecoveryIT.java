package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.sandbox.SyntheticVideo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The hub killed with SIGKILL in the middle of a job and started again finishes the job, and
 * dublab sees exactly one init-dub-group and one start-dub per language. The simulator runs in a
 * separate sandbox process that is never killed, so its counters are the provider's view.
 */
class CrashRecoveryIT {

    private final ObjectMapper json = new ObjectMapper();
    private HubProcess simulator;
    private HubProcess hub;
    private Path hubData;
    private int hubPort;
    private Map<String, String> hubEnv;

    @BeforeEach
    void startSimulator() throws Exception {
        Path root = Path.of("target", "it-data", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        hubData = root.resolve("hub");
        int simPort = HubProcess.freePort();
        simulator = new HubProcess("simulator", simPort, List.of(
                "-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + root.resolve("simulator"),
                "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of()).start();
        simulator.post("/sandbox/dublab/_control/reset");
        simulator.post("/sandbox/dublab/_control/stage-duration?millis=3000");
        hubPort = HubProcess.freePort();
        hubEnv = Map.of(
                "HUB_DATA_DIR", hubData.toString(),
                "HUB_PROVIDERS_DUBLAB_BASE_URL", "http://127.0.0.1:" + simPort + "/sandbox/dublab/api/v1",
                "HUB_PROVIDERS_DUBLAB_API_KEY", "sandbox-dublab-key",
                "HUB_PROVIDERS_DUBLAB_POLL_INTERVAL", "1s",
                "HUB_POLL_TICK", "500ms",
                "HUB_POLL_LEASE", "4s",
                "HUB_POLL_LEASE_RENEWAL", "1s");
    }

    @AfterEach
    void stopAll() throws Exception {
        if (hub != null) {
            hub.close();
        }
        if (simulator != null) {
            simulator.close();
        }
    }

    private HubProcess startHub() throws Exception {
        return new HubProcess("hub", hubPort, List.of(), hubEnv).start();
    }

    private int calls(String operation) throws Exception {
        JsonNode calls = json.readTree(simulator.get("/sandbox/dublab/_control/calls").body());
        return calls.path(operation).asInt(0);
    }

    private void drop(String name, long bytes) throws Exception {
        Path inbox = hubData.resolve("inbox/dublab");
        Files.createDirectories(inbox);
        Files.writeString(inbox.resolve(name + ".job.json"), "{\"targetLanguages\":[\"es\",\"de\"]}", StandardCharsets.UTF_8);
        Path staging = Files.createTempFile(hubData, ".staging-", ".mp4");
        SyntheticVideo.writeMp4(staging, Duration.ofSeconds(75), 1280, 720, bytes);
        Files.move(staging, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private JsonNode awaitManifest(String stem) throws Exception {
        Path manifest = hubData.resolve("outbox").resolve(stem).resolve("job.json");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> Files.exists(manifest));
        return json.readTree(manifest.toFile());
    }

    @Test
    void killedWhilePollingThenRestartedDeliversWithoutSecondCreate() throws Exception {
        hub = startHub();
        drop("keynote.mp4", 256 * 1024);
        await().atMost(Duration.ofSeconds(60)).until(() -> calls("start-dub") == 2);
        hub.kill();

        hub = startHub();
        JsonNode manifest = awaitManifest("keynote");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(calls("init-dub-group")).isEqualTo(1);
        assertThat(calls("start-dub")).isEqualTo(2);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(hubData.resolve("done/dublab/keynote.mp4")));
    }

    /** True once the hub's job API shows the given provider call recorded with the given state. */
    private boolean hubRecorded(String operation, String state) throws Exception {
        JsonNode jobs = json.readTree(hub.get("/api/jobs").body().isEmpty() ? "[]" : hub.get("/api/jobs").body());
        if (!jobs.isArray() || jobs.isEmpty()) {
            return false;
        }
        JsonNode job = json.readTree(hub.get("/api/jobs/" + jobs.get(0).get("id").asText()).body());
        for (JsonNode call : job.path("providerCalls")) {
            if (operation.equals(call.path("operation").asText()) && state.equals(call.path("state").asText())) {
                return true;
            }
        }
        return false;
    }

    private long credits() throws Exception {
        return json.readTree(simulator.get("/sandbox/dublab/_control/credits").body()).path("credits").asLong();
    }

    @Test
    void killedWhileUploadingThenRestartedUploadsAgainIntoTheSameGroup() throws Exception {
        hub = startHub();
        // large enough (sparse on disk) that the upload is still running when the kill lands
        drop("lecture.mp4", 1536L * 1024 * 1024);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> hubRecorded("upload", "intent"));
        hub.kill();
        assertThat(calls("start-dub")).isZero();

        hub = startHub();
        JsonNode manifest = awaitManifest("lecture");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(calls("init-dub-group")).isEqualTo(1);
        assertThat(calls("start-dub")).isEqualTo(2);
    }

    /**
     * Killed the instant dublab created the group, possibly before its answer reached the ledger.
     * dublab never hands the upload URL out again, so an unrecorded group cannot be uploaded to:
     * it is left unstarted (dublab bills on completion only) and at most one more is created.
     * Whatever the timing, exactly one group is started and paid for.
     */
    @Test
    void killedRightAfterCreateIsPaidForOnce() throws Exception {
        long before = credits();
        hub = startHub();
        drop("panel.mp4", 256 * 1024);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> calls("init-dub-group") == 1);
        hub.kill();

        hub = startHub();
        JsonNode manifest = awaitManifest("panel");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(calls("init-dub-group")).isBetween(1, 2);
        assertThat(calls("start-dub")).isEqualTo(2);
        // 75 s at dublab's per-started-minute rate: 2 credits per language, two languages, once
        assertThat(before - credits()).isEqualTo(4);
    }
}

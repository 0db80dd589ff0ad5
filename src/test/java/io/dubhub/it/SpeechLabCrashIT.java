package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.sandbox.SyntheticVideo;
import org.junit.jupiter.api.AfterEach;
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
 * The hub killed with SIGKILL the moment SpeechLab created the project (its answer possibly not
 * yet in the ledger) and started again: the project is found by thirdPartyID, not created again,
 * and each language is dubbed, and billed, once. The simulator is a separate sandbox process that
 * is never killed, so its counters are SpeechLab's view.
 */
class SpeechLabCrashIT {

    private final ObjectMapper json = new ObjectMapper();
    private HubProcess simulator;
    private HubProcess hub;

    @AfterEach
    void stopAll() throws Exception {
        if (hub != null) {
            hub.close();
        }
        if (simulator != null) {
            simulator.close();
        }
    }

    private JsonNode control(String path) throws Exception {
        return json.readTree(simulator.get("/sandbox/speechlab/_control" + path).body());
    }

    @Test
    void killedRightAfterTheProjectIsCreatedItIsFoundAgainAndEachLanguageIsBilledOnce() throws Exception {
        Path root = Path.of("target", "it-data", UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        Path hubData = root.resolve("hub");
        int simPort = HubProcess.freePort();
        simulator = new HubProcess("simulator", simPort, List.of(
                "-Dquarkus.profile=sandbox",
                "-Dhub.data-dir=" + root.resolve("simulator"),
                "-Dhub.sandbox.demo-inbox=false",
                "-Dhub.public-base-url=http://127.0.0.1:" + simPort), Map.of()).start();
        simulator.post("/sandbox/speechlab/_control/reset");
        simulator.post("/sandbox/speechlab/_control/stage-duration?millis=2000");
        long creditsBefore = control("/credits").path("credits").asLong();
        int hubPort = HubProcess.freePort();
        Map<String, String> env = Map.of(
                "HUB_DATA_DIR", hubData.toString(),
                "HUB_PROVIDERS_SPEECHLAB_BASE_URL", "http://127.0.0.1:" + simPort + "/sandbox/speechlab/v1",
                "HUB_PROVIDERS_SPEECHLAB_EMAIL", "sandbox@speechlab.local",
                "HUB_PROVIDERS_SPEECHLAB_PASSWORD", "sandbox-speechlab-password",
                "HUB_PROVIDERS_SPEECHLAB_POLL_INTERVAL", "1s",
                "HUB_POLL_TICK", "500ms",
                "HUB_POLL_LEASE", "4s",
                "HUB_POLL_LEASE_RENEWAL", "1s");
        hub = new HubProcess("hub", hubPort, List.of(), env).start();

        Path inbox = hubData.resolve("inbox/speechlab");
        Files.createDirectories(inbox);
        Files.writeString(inbox.resolve("town-hall.mp4.job.json"), "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}",
                StandardCharsets.UTF_8);
        Path staging = Files.createTempFile(hubData, ".staging-", ".mp4");
        SyntheticVideo.writeMp4(staging, Duration.ofSeconds(75), 1280, 720, 256 * 1024);
        Files.move(staging, inbox.resolve("town-hall.mp4"), StandardCopyOption.ATOMIC_MOVE);

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(() -> control("/calls").path("createProjectAndTranscribe").asInt() == 1);
        hub.kill();
        hub = new HubProcess("hub", hubPort, List.of(), env).start();

        Path manifestFile = hubData.resolve("outbox/town-hall/job.json");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> Files.exists(manifestFile));
        JsonNode manifest = json.readTree(manifestFile.toFile());

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        JsonNode calls = control("/calls");
        assertThat(calls.path("createProjectAndTranscribe").asInt()).as("never created twice").isEqualTo(1);
        assertThat(control("/state").path("projects").size()).isEqualTo(1);
        assertThat(calls.path("dubs").asInt()).isEqualTo(2);
        // 75 s at SpeechLab's per-started-minute rate: 2 credits per dub, two languages, once each
        assertThat(creditsBefore - control("/credits").path("credits").asLong()).isEqualTo(4);
    }
}

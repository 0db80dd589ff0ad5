package io.dubhub.matrix;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.sandbox.SyntheticVideo;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every kind of bad drop at once into one inbox: each bad one ends in failed/ with an error.json
 * an operator can act on, the good ones with awkward names are delivered, nothing escapes the
 * data folder, and dublab is asked to create exactly one dub per good file.
 */
@QuarkusTest
@TestProfile(BadInputMatrixTest.Profile.class)
class BadInputMatrixTest {

    static final long MAX_BYTES = 64L * 1024 * 1024;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // a lower ceiling than dublab's 5 GiB, so "too large" needs a 128 MiB sparse file, not 6 GiB
            return Map.of("hub.providers.dublab.max-bytes", Long.toString(MAX_BYTES));
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    HubConfig config;

    @Inject
    DublabSimulator sim;

    final ObjectMapper json = new ObjectMapper();

    @Test
    void eachBadInputGetsAClearErrorAndNothingIsLostOrCharged() throws Exception {
        sim.reset();
        Path data = Path.of(config.dataDir()).toAbsolutePath();
        Path inbox = data.resolve("inbox/dublab");
        Files.createDirectories(inbox);
        Path outside = Files.createTempFile("outside-the-inbox", ".mp4");
        Files.write(outside, SyntheticVideo.tinyMp4(Duration.ofSeconds(3)));

        // bad drops, each with the words its error.json must contain
        Map<String, List<String>> bad = new LinkedHashMap<>();
        Files.createFile(inbox.resolve("empty.mp4"));
        bad.put("empty.mp4", List.of("empty"));
        Drops.text(inbox, "notes.mp4", "minutes of the meeting, not a video");
        bad.put("notes.mp4", List.of("not a video"));
        Path sparse = Files.createTempFile(data, ".huge-", ".mp4");
        SyntheticVideo.writeMp4(sparse, Duration.ofSeconds(30), 640, 360, 2 * MAX_BYTES);
        Drops.moveIn(sparse, inbox, "huge.mp4");
        bad.put("huge.mp4", List.of(Long.toString(MAX_BYTES)));
        Drops.sidecar(inbox, "big-spec.mp4", "{\"title\":\"" + "x".repeat(70_000) + "\"}");
        Drops.video(inbox, "big-spec.mp4", Duration.ofSeconds(3));
        bad.put("big-spec.mp4", List.of("sidecar", "at most 65536 bytes"));
        Drops.sidecar(inbox, "traversal-lang.mp4", "{\"targetLanguages\":[\"../../etc\"]}");
        Drops.video(inbox, "traversal-lang.mp4", Duration.ofSeconds(3));
        bad.put("traversal-lang.mp4", List.of("../../etc"));
        Files.createSymbolicLink(inbox.resolve("link.mp4"), outside);
        bad.put("link.mp4", List.of("symbolic link"));

        // good drops with awkward names or values: delivered, inside the outbox
        String unicode = "Ünïcödé talk 'quoted' \"double\" & spaces.mp4";
        Drops.video(inbox, unicode, Duration.ofSeconds(3));
        Drops.sidecar(inbox, "traversal-title.mp4", "{\"title\":\"../../../../tmp/escaped\",\"description\":\"/etc/passwd\"}");
        Drops.video(inbox, "traversal-title.mp4", Duration.ofSeconds(3));
        Drops.video(inbox, "wrong-extension.txt", Duration.ofSeconds(3));
        Drops.video(inbox, "no-sidecar.mp4", Duration.ofSeconds(3));
        // a sidecar without its media: never a job
        Drops.sidecar(inbox, "ghost.mp4", "{\"targetLanguages\":[\"de\"]}");

        for (Map.Entry<String, List<String>> e : bad.entrySet()) {
            Path error = data.resolve("failed/dublab").resolve(e.getKey() + ".error.json");
            await(e.getKey()).atMost(Duration.ofSeconds(120)).until(() -> Files.exists(error));
            JsonNode reason = json.readTree(error.toFile());
            assertThat(reason.get("reason").asText()).as(e.getKey()).contains(e.getValue());
            assertThat(reason.get("jobId").asText()).isNotBlank();
        }
        List<String> goodStems = List.of("Ünïcödé talk 'quoted' \"double\" & spaces", "traversal-title", "wrong-extension", "no-sidecar");
        Map<String, JsonNode> manifests = new LinkedHashMap<>();
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            manifests.clear();
            if (!Files.isDirectory(data.resolve("outbox"))) {
                return false;
            }
            try (Stream<Path> found = Files.walk(data.resolve("outbox"))) {
                for (Path m : found.filter(p -> p.getFileName().toString().equals("job.json")).toList()) {
                    JsonNode node = json.readTree(m.toFile());
                    manifests.put(node.at("/source/name").asText(), node);
                }
            }
            return manifests.size() == goodStems.size();
        });
        assertThat(manifests.keySet()).containsExactlyInAnyOrder(unicode, "traversal-title.mp4", "wrong-extension.txt", "no-sidecar.mp4");
        manifests.values().forEach(m -> assertThat(m.get("state").asText()).isEqualTo("delivered"));
        assertThat(manifests.get("traversal-title.mp4").at("/spec/title").asText()).isEqualTo("../../../../tmp/escaped");

        // nothing was written outside the data folder's own places, and nothing is lost
        try (Stream<Path> all = Files.walk(data)) {
            assertThat(all.filter(Files::isRegularFile).map(data::relativize).map(Path::toString)
                    .filter(p -> !p.startsWith("outbox/") && !p.startsWith("done/") && !p.startsWith("failed/") && !p.startsWith("inbox/")
                            && !p.startsWith("ledger/") && !p.startsWith(".") && !p.equals("events.jsonl")))
                    .isEmpty();
        }
        assertThat(Path.of("/tmp/escaped")).doesNotExist();
        assertThat(outside).exists();
        for (String name : bad.keySet()) {
            if (!name.equals("link.mp4")) {
                assertThat(data.resolve("failed/dublab").resolve(name)).as("kept: " + name).exists();
            }
        }
        assertThat(inbox.resolve("ghost.mp4.job.json")).exists();
        // one dub created per good file (one language each: init-dub), none for a bad one
        assertThat(sim.calls("init-dub") + sim.calls("init-dub-group")).isEqualTo(goodStems.size());
        Files.deleteIfExists(outside);
    }
}

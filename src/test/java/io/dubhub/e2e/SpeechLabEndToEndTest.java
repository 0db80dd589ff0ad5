package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.provider.speechlab.SpeechLabTokenSource;
import io.dubhub.sandbox.SpeechLabSimulator;
import io.dubhub.sandbox.SyntheticVideo;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

/** SpeechLab end to end on its simulator: data/inbox/speechlab/ → data/outbox/<stem>/ with job.json. */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
class SpeechLabEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final int MIB = 1024 * 1024;

    @Inject
    SpeechLabSimulator sim;

    @Inject
    SpeechLabTokenSource tokens;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(200));
        tokens.clear();
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    Path inbox() {
        return data().resolve("inbox/speechlab");
    }

    JsonNode awaitManifest(String stem) throws Exception {
        Path manifest = data().resolve("outbox").resolve(stem).resolve("job.json");
        await().atMost(WAIT).until(() -> Files.exists(manifest));
        return json.readTree(manifest.toFile());
    }

    JsonNode awaitError(String name) throws Exception {
        Path error = data().resolve("failed/speechlab").resolve(name + ".error.json");
        await().atMost(WAIT).until(() -> Files.exists(error));
        return json.readTree(error.toFile());
    }

    List<String> checkedOutputs(JsonNode manifest, String stem) throws Exception {
        List<String> paths = new ArrayList<>();
        for (JsonNode o : manifest.get("outputs")) {
            Path file = data().resolve("outbox").resolve(stem).resolve(o.get("path").asText());
            assertThat(file).exists();
            assertThat(Files.size(file)).isEqualTo(o.get("bytes").asLong());
            assertThat(Drops.sha256(file)).isEqualTo(o.get("sha256").asText());
            paths.add(o.get("path").asText());
        }
        return paths;
    }

    @Test
    void droppedVideoIsUploadedTranscribedTranslatedDubbedAndDelivered() throws Exception {
        Drops.sidecar(inbox(), "talk.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"es-419\"]}");
        Path source = Drops.video(inbox(), "talk.mp4", Duration.ofSeconds(95));
        String sourceSha = Drops.sha256(source);

        JsonNode manifest = awaitManifest("talk");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("provider").asText()).isEqualTo("speechlab");
        assertThat(manifest.at("/source/sha256").asText()).isEqualTo(sourceSha);
        assertThat(manifest.at("/languages/es/state").asText()).isEqualTo("delivered");
        assertThat(manifest.at("/languages/es-419/state").asText()).isEqualTo("delivered");
        assertThat(checkedOutputs(manifest, "talk")).containsExactlyInAnyOrder(
                "es/talk.es.mp4", "es/talk.es.mp3", "es/talk.es.srt",
                "es-419/talk.es-419.mp4", "es-419/talk.es-419.mp3", "es-419/talk.es-419.srt");
        // the simulator's dubbed video is the finalized upload: the parts arrived whole and in order
        assertThat(Drops.sha256(data().resolve("outbox/talk/es/talk.es.mp4"))).isEqualTo(sourceSha);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/speechlab/talk.mp4")));
        assertThat(source).doesNotExist();
        assertThat(sim.calls("check-upload-billing")).isEqualTo(1);
        assertThat(sim.calls("initialize-multipart-upload")).isEqualTo(1);
        assertThat(sim.calls("finalize-multipart-upload")).isEqualTo(1);
        assertThat(sim.calls("createProjectAndTranscribe")).isEqualTo(1);
        assertThat(sim.calls("translations")).isEqualTo(2);
        assertThat(sim.calls("dubs")).isEqualTo(2);
        assertThat(sim.dubCount("es")).isEqualTo(1);
        assertThat(sim.dubCount("es_la")).isEqualTo(1);
        assertThat(sim.calls("login")).isEqualTo(1);

        String jobId = manifest.get("jobId").asText();
        given().get("/api/jobs/" + jobId).then().statusCode(200)
                .body("state", equalTo("delivered"))
                .body("outbox", equalTo("outbox/talk"));
    }

    @Test
    void anExpiringTokenIsRefreshedMidJobAndSharedByConcurrentJobs() throws Exception {
        sim.setTokenTtl(Duration.ofSeconds(2));
        sim.setStageDuration(Duration.ofMillis(500));
        Drops.sidecar(inbox(), "refresh-a.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"fr\"]}");
        Drops.sidecar(inbox(), "refresh-b.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"de\"]}");
        Drops.video(inbox(), "refresh-a.mp4", Duration.ofSeconds(20));
        Drops.video(inbox(), "refresh-b.mp4", Duration.ofSeconds(20));

        assertThat(awaitManifest("refresh-a").get("state").asText()).isEqualTo("delivered");
        assertThat(awaitManifest("refresh-b").get("state").asText()).isEqualTo("delivered");

        assertThat(sim.calls("login")).as("one login for every job and route").isEqualTo(1);
        assertThat(sim.calls("refresh-tokens")).isGreaterThanOrEqualTo(1);
        assertThat(tokens.logins()).isEqualTo(1);
    }

    @Test
    void outOfCreditsStopsTheJobBeforeAnythingIsUploaded() throws Exception {
        sim.setCredits(0);
        Drops.sidecar(inbox(), "broke.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox(), "broke.mp4", Duration.ofSeconds(60));

        JsonNode error = awaitError("broke.mp4");

        assertThat(error.get("reason").asText()).contains("SpeechLab: out of credits").contains("upload").contains("Buy more credits");
        assertThat(sim.calls("check-upload-billing")).isEqualTo(1);
        assertThat(sim.calls("initialize-multipart-upload")).isZero();
        assertThat(sim.calls("createProjectAndTranscribe")).isZero();
        sim.setCredits(10_000);
    }

    @Test
    void unsupportedLanguageIsRejectedBeforeAnyCallWithTheSupportedList() throws Exception {
        Drops.sidecar(inbox(), "swahili.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"sw\"]}");
        Drops.video(inbox(), "swahili.mp4", Duration.ofSeconds(10));
        JsonNode error = awaitError("swahili.mp4");
        assertThat(error.get("stage").asText()).isEqualTo("validate");
        assertThat(error.get("reason").asText()).contains("SpeechLab does not offer target language(s) sw").contains("es-419 (es_la)");
        assertThat(sim.calls("check-upload-billing") + sim.calls("login")).isZero();
    }

    @Test
    void aPartThatFailsOnceIsRetriedAloneAndTheUploadCompletes() throws Exception {
        sim.failNextPartPut(2, 500);
        Path staging = Files.createTempFile("big-", ".mp4");
        SyntheticVideo.writeMp4(staging, Duration.ofSeconds(30), 640, 360, 11L * MIB);
        String sourceSha = Drops.sha256(staging);
        long size = Files.size(staging);
        Drops.sidecar(inbox(), "big.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"it\"]}");
        Drops.moveIn(staging, inbox(), "big.mp4");

        JsonNode manifest = awaitManifest("big");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        Map<Integer, Integer> attempts = sim.partPutAttempts("big.mp4");
        assertThat(attempts).as("5 MiB parts of a %d-byte file; part 2 failed once", size)
                .containsExactly(Map.entry(1, 1), Map.entry(2, 2), Map.entry(3, 1));
        assertThat(Drops.sha256(data().resolve("outbox/big/it/big.it.mp4"))).isEqualTo(sourceSha);
        assertThat(sim.calls("initialize-multipart-upload")).isEqualTo(1);
        assertThat(sim.calls("get-multipart-preSigned-urls")).isEqualTo(1);
        assertThat(sim.calls("finalize-multipart-upload")).isEqualTo(1);
        manifest.get("events").forEach(e -> {
            if (e.toString().contains("uploaded ")) {
                System.out.println("SpeechLab upload figure: " + e);
            }
        });
    }

    @Test
    void aLostCreateAnswerIsReconciledByThirdPartyIdNeverCreatedTwice() throws Exception {
        sim.loseNextAnswer("createProjectAndTranscribe");
        Drops.sidecar(inbox(), "lost.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
        Drops.video(inbox(), "lost.mp4", Duration.ofSeconds(30));

        JsonNode manifest = awaitManifest("lost");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("createProjectAndTranscribe")).isEqualTo(1);
        assertThat(sim.projectCount()).isEqualTo(1);
        assertThat(sim.dubCount("es")).isEqualTo(1);
        assertThat(sim.dubCount("de")).isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains("found the project created before a restart by thirdPartyID");
    }

    @Test
    void aUrlSourceIsFetchedBySpeechLabWhosePipelineDubsTheFirstLanguage() throws Exception {
        Drops.sidecar(inbox(), "by-url.mp4",
                "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"fr\"],\"options\":{\"source\":\"url\"}}");
        Path source = Drops.video(inbox(), "by-url.mp4", Duration.ofSeconds(40));
        String sourceSha = Drops.sha256(source);
        long size = Files.size(source);

        JsonNode manifest = awaitManifest("by-url");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(checkedOutputs(manifest, "by-url")).containsExactlyInAnyOrder(
                "es/by-url.es.mp4", "es/by-url.es.mp3", "es/by-url.es.srt",
                "fr/by-url.fr.mp4", "fr/by-url.fr.mp3", "fr/by-url.fr.srt");
        // SpeechLab's worker fetched the whole file through the hub's signed /staged/ link
        assertThat(sim.fetchedBytes(manifest.get("jobId").asText())).isEqualTo(size);
        assertThat(Drops.sha256(data().resolve("outbox/by-url/es/by-url.es.mp4"))).isEqualTo(sourceSha);
        assertThat(sim.calls("createProjectAndDub")).isEqualTo(1);
        assertThat(sim.calls("createProjectAndTranscribe") + sim.calls("initialize-multipart-upload")).isZero();
        // es came from createProjectAndDub's own pipeline; only fr needed a translation and a dub of ours
        assertThat(sim.calls("translations")).isEqualTo(1);
        assertThat(sim.calls("dubs")).isEqualTo(1);
        assertThat(sim.dubCount("es")).isEqualTo(1);
        assertThat(sim.dubCount("fr")).isEqualTo(1);
        String events = manifest.get("events").toString();
        assertThat(events).contains("SpeechLab fetches the source from http://127.0.0.1:").contains("/staged/REDACTED");
    }

    @Test
    void aSourceSpeechLabCannotFetchFailsTheJobWithTheWorkersReason() throws Exception {
        sim.tamperNextFetches(1);
        Drops.sidecar(inbox(), "unfetchable.mp4",
                "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"],\"options\":{\"source\":\"url\"}}");
        Drops.video(inbox(), "unfetchable.mp4", Duration.ofSeconds(10));

        JsonNode error = awaitError("unfetchable.mp4");

        // the hub's staged-file server refused the tampered link; SpeechLab reports it as a transcription error
        assertThat(error.get("reason").asText()).contains("SpeechLab could not transcribe the source")
                .contains("could not fetch mediaFileURI (HTTP 403)");
        assertThat(sim.calls("createProjectAndDub")).isEqualTo(1);
        assertThat(sim.calls("dubs")).isZero();
        assertThat(data().resolve("failed/speechlab/unfetchable.mp4")).exists();
    }

    @Test
    void aLostCreateProjectAndDubAnswerIsReconciledByThirdPartyId() throws Exception {
        sim.loseNextAnswer("createProjectAndDub");
        Drops.sidecar(inbox(), "lost-url.mp4",
                "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"de\"],\"options\":{\"source\":\"url\"}}");
        Drops.video(inbox(), "lost-url.mp4", Duration.ofSeconds(10));

        JsonNode manifest = awaitManifest("lost-url");

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(sim.calls("createProjectAndDub")).isEqualTo(1);
        assertThat(sim.projectCount()).isEqualTo(1);
        assertThat(sim.dubCount("de")).isEqualTo(1);
        assertThat(manifest.get("events").toString()).contains("found the project created before a restart by thirdPartyID");
    }

    @Test
    void outOfCreditsAtTheDubStepStopsTheJobWithoutARetry() throws Exception {
        sim.failNextCalls("dubs", 402, 1);
        Drops.sidecar(inbox(), "broke-later.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox(), "broke-later.mp4", Duration.ofSeconds(10));

        JsonNode error = awaitError("broke-later.mp4");

        assertThat(error.get("reason").asText()).contains("SpeechLab: out of credits at the dub step").contains("HTTP 402");
        assertThat(sim.calls("dubs")).isEqualTo(1);
        assertThat(sim.calls("finalize-multipart-upload")).isEqualTo(1);
        assertThat(data().resolve("failed/speechlab/broke-later.mp4")).exists();
    }

    @Test
    void badSpeechLabOptionsAreRefusedBeforeAnyCall() throws Exception {
        Drops.sidecar(inbox(), "bad-option.mp4",
                "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"],\"options\":{\"source\":\"s3\"}}");
        Drops.video(inbox(), "bad-option.mp4", Duration.ofSeconds(5));

        JsonNode error = awaitError("bad-option.mp4");

        assertThat(error.get("stage").asText()).isEqualTo("validate");
        assertThat(error.get("reason").asText()).contains("option source must be 'upload'").contains("'url'");
        assertThat(sim.calls("login") + sim.calls("check-upload-billing")).isZero();
    }

    @Test
    void anExpiredArtifactLinkIsRefreshedWithExpandTrue() throws Exception {
        sim.expireLinksOfNextExpandAnswers(1);
        Drops.sidecar(inbox(), "late.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"pt-BR\"]}");
        Drops.video(inbox(), "late.mp4", Duration.ofSeconds(30));
        JsonNode manifest = awaitManifest("late");
        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("events").toString()).contains("link expired, refreshed from speechlab");
        assertThat(checkedOutputs(manifest, "late")).contains("pt-BR/late.pt-BR.mp4", "pt-BR/late.pt-BR.srt");
    }
}

package io.dubhub.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.job.JobEvent;
import io.dubhub.job.JobState;
import io.dubhub.ledger.JobLedger;
import io.dubhub.sandbox.AlughaSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreeHttpPort;
import io.dubhub.testing.FreshDataDir;
import io.dubhub.webhook.WebhookTokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * alugha end to end on the simulator: drop → staged downloadFromUrl + per-job statusWebhook →
 * the simulator really fetches the staged file, then calls the webhook at each status →
 * the hub re-reads the video and its tracks → job.json records the hosted video and tracks.
 * The test profile polls alugha only every 15 s, so a job that ends well inside that was driven
 * by its webhooks; with webhooks dropped the same job still ends, on the poll.
 */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = FreeHttpPort.class, restrictToAnnotatedClass = true)
class AlughaEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    AlughaSimulator sim;

    @Inject
    HubConfig config;

    @Inject
    JobLedger ledger;

    @Inject
    WebhookTokens tokens;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(300));
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    Path inbox() {
        return data().resolve("inbox/alugha");
    }

    JsonNode awaitJson(Path file) throws Exception {
        await().atMost(WAIT).until(() -> Files.exists(file));
        return json.readTree(file.toFile());
    }

    Job awaitJob(String sourceName, JobState... states) {
        List<JobState> wanted = List.of(states);
        return await().atMost(WAIT).until(() -> ledger.list(null, "alugha", 500).stream()
                .filter(j -> j.sourceName().equals(sourceName)).findFirst().orElse(null), j -> j != null && wanted.contains(j.state()));
    }

    static List<JsonNode> hosted(JsonNode manifest, String type) {
        List<JsonNode> out = new ArrayList<>();
        manifest.path("hosted").forEach(h -> {
            if (h.path("type").asText().equals(type)) {
                out.add(h);
            }
        });
        return out;
    }

    @Test
    void videoIsHostedThroughWebhooksAndTheManifestRecordsTheVideoAndItsTracks() throws Exception {
        sim.addTracksOnReady(List.of("deu"));
        Drops.sidecar(inbox(), "keynote.mp4", "{\"sourceLanguage\":\"en-US\",\"targetLanguages\":[\"de\"],\"title\":\"Keynote 2026\"}");
        Path source = Drops.video(inbox(), "keynote.mp4", Duration.ofSeconds(30));
        long sourceBytes = Files.size(source);

        JsonNode manifest = awaitJson(data().resolve("outbox/keynote/job.json"));

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("provider").asText()).isEqualTo("alugha");
        String jobId = manifest.get("jobId").asText();
        assertThat(sim.videos()).hasSize(1);
        AlughaSimulator.Video video = sim.videos().get(0);
        // alugha fetched the staged link itself and got the whole video
        assertThat(video.fetchedBytes).isEqualTo(sourceBytes);
        assertThat(video.fetchedType).startsWith("video/");
        assertThat(manifest.at("/providerIds/project").asText()).isEqualTo(video.id);
        assertThat(manifest.at("/languages/en-US/state").asText()).isEqualTo("delivered");
        assertThat(manifest.at("/languages/de/state").asText()).isEqualTo("delivered");

        List<JsonNode> videos = hosted(manifest, "video");
        assertThat(videos).hasSize(1);
        assertThat(videos.get(0).get("providerId").asText()).isEqualTo(video.id);
        assertThat(videos.get(0).get("url").asText()).endsWith("/sandbox/alugha/watch/" + video.id);
        assertThat(videos.get(0).at("/details/title").asText()).isEqualTo("Keynote 2026 [" + jobId + "]");
        List<JsonNode> tracks = hosted(manifest, "track");
        assertThat(tracks).extracting(t -> t.at("/details/langCode").asText()).containsExactlyInAnyOrder("eng-us", "deu");
        assertThat(tracks).allSatisfy(t -> assertThat(t.get("url").asText()).contains(video.id));
        JsonNode defaultTrack = tracks.stream().filter(t -> t.at("/details/default").asText().equals("true")).findFirst().orElseThrow();
        assertThat(defaultTrack.get("language").asText()).isEqualTo("en-US");
        // hosted, not downloaded: nothing but job.json in the outbox folder
        assertThat(manifest.get("outputs")).isEmpty();
        try (Stream<Path> files = Files.list(data().resolve("outbox/keynote"))) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("job.json");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/alugha/keynote.mp4")));
        assertThat(source).doesNotExist();

        // every lifecycle step reached the webhook, which answered 2xx; the state history is in job.json
        assertThat(sim.webhookCalls()).extracting(AlughaSimulator.WebhookCall::status)
                .containsExactly(AlughaSimulator.DOWNLOADED, AlughaSimulator.ENCODING, AlughaSimulator.READY);
        assertThat(sim.webhookCalls()).allSatisfy(c -> assertThat(c.answer()).isEqualTo(202));
        String events = manifest.get("events").toString();
        assertThat(events).contains("alugha status webhook received").contains("ready for playback");
        assertThat(events).doesNotContain("token=");
        // driven by the webhooks: ended well before the first poll (15 s after submission) was due
        Instant submitted = Instant.parse(manifest.at("/timings/submittedAt").asText());
        Instant finished = Instant.parse(manifest.at("/timings/finishedAt").asText());
        System.out.println("alugha with webhooks: submitted → delivered in " + Duration.between(submitted, finished).toMillis()
                + " ms (poll interval " + config.providers().alugha().pollInterval().toSeconds() + " s)");
        assertThat(Duration.between(submitted, finished)).isLessThan(config.providers().alugha().pollInterval());
        assertThat(sim.calls("create-video")).isEqualTo(1);
    }

    @Test
    void withEveryWebhookLostThePollStillEndsTheJobAndAMissingTrackIsReportedNotInvented() throws Exception {
        sim.dropWebhooks(true);
        Drops.sidecar(inbox(), "quiet.mp4", "{\"sourceLanguage\":\"de\",\"targetLanguages\":[\"fr\"]}");
        Drops.video(inbox(), "quiet.mp4", Duration.ofSeconds(20));

        JsonNode manifest = awaitJson(data().resolve("outbox/quiet/job.json"));

        assertThat(sim.webhookCalls()).hasSize(3).allSatisfy(c -> assertThat(c.dropped()).isTrue());
        assertThat(manifest.get("events").toString()).doesNotContain("webhook received");
        // the video is hosted with its default track; no French track exists, so none is claimed
        assertThat(manifest.get("state").asText()).isEqualTo("partial");
        assertThat(manifest.at("/languages/de/state").asText()).isEqualTo("delivered");
        assertThat(manifest.at("/languages/fr/state").asText()).isEqualTo("failed");
        assertThat(manifest.at("/languages/fr/reason").asText()).contains("no fra track").contains("dubbr");
        assertThat(hosted(manifest, "track")).extracting(t -> t.at("/details/langCode").asText()).containsExactly("deu");
        assertThat(hosted(manifest, "video")).hasSize(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data().resolve("done/alugha/quiet.mp4")));
    }

    @Test
    void forgedWebhooksAreRefusedAndChangeNothingWhileTheRealOneMakesTheJobDue() throws Exception {
        sim.dropWebhooks(true);
        sim.setStageDuration(Duration.ofMinutes(5));
        Drops.sidecar(inbox(), "guarded.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"de\"]}");
        Drops.video(inbox(), "guarded.mp4", Duration.ofSeconds(20));
        Job job = awaitJob("guarded.mp4", JobState.PROCESSING);
        await().atMost(WAIT).until(() -> ledger.load(job.id()).nextAt().isAfter(Instant.now().plusSeconds(5)));
        Job before = ledger.load(job.id());
        List<JobEvent> eventsBefore = ledger.events(job.id());

        given().body("{\"videoId\":\"x\",\"status\":\"ready\"}").post("/webhooks/alugha/" + job.id() + "?token=forged").then().statusCode(401);
        given().body("{\"status\":\"ready\"}").post("/webhooks/alugha/" + job.id()).then().statusCode(401);
        given().post("/webhooks/alugha/" + job.id() + "?token=" + tokens.token("alugha", "another-job")).then().statusCode(401);
        given().post("/webhooks/alugha/" + job.id() + "?token=" + tokens.token("vugola", job.id())).then().statusCode(401);
        given().post("/webhooks/alugha/no-such-job?token=" + tokens.token("alugha", "no-such-job")).then().statusCode(404);

        Job after = ledger.load(job.id());
        assertThat(after.nextAt()).isEqualTo(before.nextAt());
        assertThat(after.state()).isEqualTo(JobState.PROCESSING);
        assertThat(after.providerData()).isEqualTo(before.providerData());
        assertThat(ledger.events(job.id())).hasSameSizeAs(eventsBefore);

        // the real token: accepted at once, the job is due now; a repeat is just as harmless
        String real = "/webhooks/alugha/" + job.id() + "?token=" + tokens.token("alugha", job.id());
        given().body("{\"videoId\":\"" + job.providerRef() + "\",\"status\":\"ready\"}").post(real).then().statusCode(202);
        given().body("{\"videoId\":\"" + job.providerRef() + "\",\"status\":\"ready\"}").post(real).then().statusCode(202);
        assertThat(ledger.events(job.id())).extracting(JobEvent::message).anyMatch(m -> m.contains("alugha status webhook received"));
        // the payload said "ready", alugha's API says otherwise: the job keeps processing
        await().atMost(WAIT).until(() -> sim.calls("get-video") >= 2);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> ledger.load(job.id()).state() == JobState.PROCESSING);
        assertThat(ledger.targets(job.id())).allSatisfy(t -> assertThat(t.state().name()).isEqualTo("RUNNING"));
    }

    @Test
    void anUnsupportedSourceLanguageIsRejectedBeforeAnyCallToAlugha() throws Exception {
        Drops.sidecar(inbox(), "yoruba.mp4", "{\"sourceLanguage\":\"yo\",\"targetLanguages\":[\"en\"]}");
        Drops.video(inbox(), "yoruba.mp4", Duration.ofSeconds(20));

        JsonNode error = awaitJson(data().resolve("failed/alugha/yoruba.mp4.error.json"));

        assertThat(error.get("reason").asText()).contains("yo").contains("en, es").contains("eng-us");
        assertThat(sim.calls("create-video")).isZero();
        assertThat(sim.videoCount()).isZero();
    }

    @Test
    void aCreateWhoseAnswerIsLostIsFoundThroughTheWebhookAndNeverPostedTwice() throws Exception {
        sim.loseNextAnswer("create-video");
        Drops.sidecar(inbox(), "lost.mp4", "{\"sourceLanguage\":\"es-419\",\"targetLanguages\":[\"en\"]}");
        Drops.video(inbox(), "lost.mp4", Duration.ofSeconds(20));

        JsonNode manifest = awaitJson(data().resolve("outbox/lost/job.json"));

        assertThat(sim.calls("create-video")).isEqualTo(1);
        assertThat(sim.videoCount()).isEqualTo(1);
        String videoId = sim.videos().get(0).id;
        assertThat(manifest.at("/providerIds/project").asText()).isEqualTo(videoId);
        assertThat(manifest.get("events").toString()).contains("found video " + videoId + " through alugha's status webhook")
                .contains("not creating it again");
        assertThat(manifest.at("/languages/es-419/state").asText()).isEqualTo("delivered");
        assertThat(hosted(manifest, "track")).extracting(t -> t.at("/details/langCode").asText()).containsExactly("spa-419");
    }
}

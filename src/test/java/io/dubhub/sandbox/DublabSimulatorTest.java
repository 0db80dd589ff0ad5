package io.dubhub.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.dubhub.sandbox.SandboxStorageTest.HTTP;
import static io.dubhub.sandbox.SandboxStorageTest.md5;
import static io.dubhub.sandbox.SandboxStorageTest.put;
import static io.dubhub.sandbox.SandboxStorageTest.randomBytes;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@QuarkusTest
@TestProfile(SandboxSimulatorTestProfile.class)
class DublabSimulatorTest {

    static final String API = DublabSimulator.API_PATH;
    static final String CONTROL = DublabSimulator.CONTROL_PATH;
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> OUTPUT_TYPES = List.of(
            "translated_mp4", "translated_mp3", "translated_subtitle", "original_subtitle", "original_mp3", "poster");

    @Inject
    DublabSimulator simulator;

    @Inject
    SandboxStorage storage;

    @BeforeEach
    void resetSimulator() {
        simulator.reset();
    }

    @Test
    void everyEndpointWantsTheApiKey() throws Exception {
        given().get(API + "/me").then().statusCode(401).contentType(ContentType.JSON)
                .body("error", org.hamcrest.Matchers.equalTo("Invalid or missing API key"));
        given().header("apikey", "wrong").get(API + "/dubs").then().statusCode(401)
                .body("error", org.hamcrest.Matchers.equalTo("Invalid or missing API key"));
        given().contentType(ContentType.JSON).body(group("talk.mp4", 120, "tr")).post(API + "/init-dub-group")
                .then().statusCode(401);
        api().get(API + "/me").then().statusCode(200)
                .body("id", org.hamcrest.Matchers.equalTo("sandbox-user"))
                .body("email", org.hamcrest.Matchers.equalTo("sandbox@dubhub.local"))
                .body("credits", org.hamcrest.Matchers.equalTo(10000));
        assertThat(simulator.projectCount()).isZero();
    }

    @Test
    void initDubGroupValidatesItsInput() throws Exception {
        assertError(api().body(group("talk.mp4", 120, "tr", "xx")).post(API + "/init-dub-group"), 400, "xx");
        assertError(api().body(Map.of("fileType", "video/mp4", "name", "talk.mp4", "source_lang", "klingon", "duration", 60,
                "dest_langs", List.of("de"))).post(API + "/init-dub-group"), 400, "klingon");
        assertError(api().body(group("talk.mp4", 10_801, "tr")).post(API + "/init-dub-group"), 400, "3 hours");
        assertError(api().body(group("talk.mp4", 0, "tr")).post(API + "/init-dub-group"), 400, "duration");
        assertError(api().body(Map.of("fileType", "video/mp4", "name", "talk.mp4", "source_lang", "en", "duration", "120",
                "dest_langs", List.of("de"))).post(API + "/init-dub-group"), 400, "duration");
        assertError(api().body(Map.of("fileType", "image/png", "name", "talk.png", "source_lang", "en", "duration", 60,
                "dest_langs", List.of("de"))).post(API + "/init-dub-group"), 400, "fileType");
        assertError(api().body(Map.of("fileType", "video/mp4", "source_lang", "en", "duration", 60,
                "dest_langs", List.of("de"))).post(API + "/init-dub-group"), 400, "name");
        assertError(api().body(group("talk.mp4", 60)).post(API + "/init-dub-group"), 400, "dest_langs");
        assertError(api().body(group("talk.mp4", 60, "de", "de")).post(API + "/init-dub-group"), 400, "de");
        assertError(api().body("{not json").post(API + "/init-dub-group"), 400, "JSON");
        assertError(api().body(Map.of("fileType", "video/mp4", "name", "talk.mp4", "source_lang", "en", "duration", 60))
                .post(API + "/init-dub"), 400, "dest_lang");

        // Exactly three hours is still allowed, and pt-BR is a language of its own.
        api().body(group("long.mp4", 10_800, "pt-BR")).post(API + "/init-dub-group").then().statusCode(200);
        assertThat(simulator.projectCount()).isEqualTo(1);
    }

    @Test
    void groupGoesFromUploadToCompletedWithEveryOutputDownloadable() throws Exception {
        JsonNode created = json(api().body(group("Keynote 2025.mp4", 120, "tr", "de", "es")).post(API + "/init-dub-group"), 200);
        String projectId = created.get("projectId").asText();
        assertThat(projectId).startsWith("prj_");
        List<String> fileIds = new ArrayList<>();
        created.get("files").forEach(f -> fileIds.add(f.get("fileId").asText()));
        assertThat(fileIds).hasSize(3).allMatch(id -> id.startsWith("fil_"));
        assertThat(created.get("files").findValuesAsText("language")).containsExactly("tr", "de", "es");
        assertThat(dubs()).allMatch(d -> d.get("externalStatusId").asInt() == 1);

        byte[] video = randomBytes(300_000);
        URI uploadUrl = URI.create(created.get("uploadUrl").asText());
        HttpResponse<String> upload = put(uploadUrl, video, "video/mp4");
        assertThat(upload.statusCode()).isEqualTo(200);
        assertThat(upload.headers().firstValue("ETag")).hasValue("\"" + md5(video) + "\"");
        assertThat(storage.keyOf(uploadUrl)).isEqualTo("dublab/" + projectId + "/Keynote 2025.mp4");
        // Uploaded but not started: still "Uploading".
        assertThat(dubs()).allMatch(d -> d.get("externalStatusId").asInt() == 1);

        for (String fileId : fileIds) {
            JsonNode started = json(api().body(Map.of("fileId", fileId)).post(API + "/start-dub"), 200);
            assertThat(started.get("success").asBoolean()).isTrue();
            assertThat(started.get("fileId").asText()).isEqualTo(fileId);
            assertThat(started.get("externalStatusId").asInt()).isEqualTo(2);
        }
        assertThat(json(api().get(API + "/dubs/" + fileIds.get(0) + "/outputs"), 200).get("outputs").size()).isZero();

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> dubs().stream().allMatch(d -> d.get("externalStatusId").asInt() == 5));

        for (JsonNode d : dubs()) {
            assertThat(d.get("id").asText()).isEqualTo(d.get("fileId").asText());
            assertThat(d.get("projectId").asText()).isEqualTo(projectId);
            assertThat(d.get("name").asText()).isEqualTo("Keynote 2025.mp4");
            assertThat(d.get("source_lang").asText()).isEqualTo("en");
            assertThat(d.get("measuredDuration").asInt()).isEqualTo(120);
            assertThat(d.get("externalErrorMessage").isNull()).isTrue();
            assertThat(d.get("createdAt").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        }

        for (String fileId : fileIds) {
            JsonNode outputs = json(api().get(API + "/dubs/" + fileId + "/outputs"), 200);
            String lang = outputs.get("language").asText();
            assertThat(outputs.get("fileId").asText()).isEqualTo(fileId);
            assertThat(outputs.get("externalStatusId").asInt()).isEqualTo(5);
            assertThat(outputs.get("expiresIn").asInt()).isEqualTo(3600);
            assertThat(iterable(outputs.get("outputs").fieldNames())).containsExactlyInAnyOrderElementsOf(OUTPUT_TYPES);

            assertThat(download(outputs, "translated_mp4", "url")).isEqualTo(video);
            assertThat(download(outputs, "translated_mp4", "downloadUrl")).isEqualTo(video);
            assertThat(new String(download(outputs, "translated_mp3", "url"), 0, 3, StandardCharsets.ISO_8859_1)).isEqualTo("ID3");
            assertThat(download(outputs, "translated_mp3", "url").length).isBetween(1000, 20_000);
            assertThat(new String(download(outputs, "translated_subtitle", "url"), StandardCharsets.UTF_8))
                    .startsWith("1\n00:00:00,000 --> ").contains("[" + lang + "]");
            assertThat(new String(download(outputs, "original_subtitle", "url"), StandardCharsets.UTF_8)).contains("[en]");
            assertThat(new String(download(outputs, "original_mp3", "url"), 0, 3, StandardCharsets.ISO_8859_1)).isEqualTo("ID3");
            byte[] poster = download(outputs, "poster", "url");
            assertThat(ImageIO.read(new ByteArrayInputStream(poster))).isNotNull();
            assertThat(outputs.at("/outputs/translated_mp4/url").asText()).contains(".mp4?");
            assertThat(outputs.at("/outputs/poster/url").asText()).contains(".jpg?");

            HttpResponse<byte[]> attachment = get(URI.create(outputs.at("/outputs/translated_subtitle/downloadUrl").asText()));
            assertThat(attachment.headers().firstValue("Content-Disposition")).hasValueSatisfying(v -> assertThat(v).startsWith("attachment"));
        }

        JsonNode project = json(api().get(API + "/projects/" + projectId + "/outputs"), 200);
        assertThat(project.get("projectId").asText()).isEqualTo(projectId);
        assertThat(project.get("expiresIn").asInt()).isEqualTo(3600);
        assertThat(project.get("dubs").findValuesAsText("fileId")).containsExactlyInAnyOrderElementsOf(fileIds);
        project.get("dubs").forEach(d -> assertThat(d.get("outputs").size()).isEqualTo(OUTPUT_TYPES.size()));
        assertError(api().get(API + "/projects/prj_nope/outputs"), 404, "prj_nope");
        assertError(api().get(API + "/dubs/fil_nope/outputs"), 404, "fil_nope");

        // Billed once on completion: ceil(120 / 60) per language, however often we look.
        assertThat(json(api().get(API + "/me"), 200).get("credits").asLong()).isEqualTo(10_000 - 3 * 2);
        dubs();
        assertThat(simulator.credits()).isEqualTo(10_000 - 3 * 2);
        assertThat(storage.putCount(storage.keyOf(uploadUrl))).isEqualTo(1);
    }

    @Test
    void dubPassesThroughInQueueAndProcessing() throws Exception {
        simulator.setStageDuration(Duration.ofMillis(800));
        JsonNode created = json(api().body(Map.of("fileType", "audio/mpeg", "name", "podcast.mp3", "source_lang", "en",
                "duration", 59.5, "dest_lang", "es")).post(API + "/init-dub"), 200);
        String fileId = created.get("fileId").asText();
        assertThat(created.get("projectId").asText()).startsWith("prj_");
        assertThat(put(URI.create(created.get("uploadUrl").asText()), randomBytes(2000), "audio/mpeg").statusCode()).isEqualTo(200);
        api().body(Map.of("fileId", fileId)).post(API + "/start-dub").then().statusCode(200);

        Set<Integer> seen = new HashSet<>();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> {
            int status = simulator.externalStatusId(fileId);
            seen.add(status);
            return status == 5;
        });
        assertThat(seen).contains(2, 3, 5);
        assertThat(simulator.credits()).isEqualTo(10_000 - 1);
    }

    @Test
    void injectedLanguageFailureEndsInStatusFourWithItsMessageAndIsNotBilled() throws Exception {
        simulator.failLanguage("de", "Voice separation failed");
        JsonNode created = json(api().body(group("talk.mp4", 61, "tr", "de")).post(API + "/init-dub-group"), 200);
        assertThat(put(URI.create(created.get("uploadUrl").asText()), randomBytes(1000), "video/mp4").statusCode()).isEqualTo(200);
        created.get("files").forEach(f -> api().body(Map.of("fileId", f.get("fileId").asText())).post(API + "/start-dub")
                .then().statusCode(200));

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> dubs().stream().allMatch(d -> d.get("externalStatusId").asInt() >= 4));

        JsonNode de = dubs().stream().filter(d -> d.get("language").asText().equals("de")).findFirst().orElseThrow();
        JsonNode tr = dubs().stream().filter(d -> d.get("language").asText().equals("tr")).findFirst().orElseThrow();
        assertThat(de.get("externalStatusId").asInt()).isEqualTo(4);
        assertThat(de.get("externalErrorMessage").asText()).isEqualTo("Voice separation failed");
        assertThat(de.get("measuredDuration").isNull()).isTrue();
        assertThat(tr.get("externalStatusId").asInt()).isEqualTo(5);
        assertThat(json(api().get(API + "/dubs/" + de.get("fileId").asText() + "/outputs"), 200).get("outputs").size()).isZero();
        assertThat(simulator.credits()).isEqualTo(10_000 - 2);
    }

    @Test
    void tooFewCreditsIsPaymentRequired() throws Exception {
        simulator.setCredits(5);
        assertError(api().body(group("talk.mp4", 120, "tr", "de", "es")).post(API + "/init-dub-group"), 402,
                "Insufficient credits: need 6, have 5");
        assertThat(simulator.projectCount()).isZero();

        JsonNode created = json(api().body(group("talk.mp4", 120, "tr")).post(API + "/init-dub-group"), 200);
        assertThat(put(URI.create(created.get("uploadUrl").asText()), randomBytes(100), "video/mp4").statusCode()).isEqualTo(200);
        simulator.setCredits(1);
        assertError(api().body(Map.of("fileId", created.at("/files/0/fileId").asText())).post(API + "/start-dub"), 402,
                "Insufficient credits: need 2, have 1");
    }

    @Test
    void startNeedsACompletedUploadAndHappensOnce() throws Exception {
        JsonNode created = json(api().body(group("talk.mp4", 30, "fr")).post(API + "/init-dub-group"), 200);
        String fileId = created.at("/files/0/fileId").asText();
        URI uploadUrl = URI.create(created.get("uploadUrl").asText());

        assertError(api().body(Map.of("fileId", fileId)).post(API + "/start-dub"), 412, "Upload not complete");
        // An upload the storage refused (wrong Content-Type) does not count either.
        assertThat(put(uploadUrl, randomBytes(100), "application/octet-stream").statusCode()).isEqualTo(403);
        assertError(api().body(Map.of("fileId", fileId)).post(API + "/start-dub"), 412, "Upload not complete");

        assertThat(put(uploadUrl, randomBytes(100), "video/mp4").statusCode()).isEqualTo(200);
        api().body(Map.of("fileId", fileId)).post(API + "/start-dub").then().statusCode(200);
        assertError(api().body(Map.of("fileId", fileId)).post(API + "/start-dub"), 409, "Dub already started");
        assertError(api().body(Map.of("fileId", "fil_unknown")).post(API + "/start-dub"), 404, "fil_unknown");
        assertError(api().body(Map.of()).post(API + "/start-dub"), 400, "fileId");
    }

    @Test
    void listAlternatesBetweenBareArrayAndWrappedShape() throws Exception {
        api().body(group("talk.mp4", 30, "fr", "it")).post(API + "/init-dub-group").then().statusCode(200);

        JsonNode first = json(api().get(API + "/dubs"), 200);
        JsonNode second = json(api().get(API + "/dubs"), 200);
        assertThat(first.isArray()).isTrue();
        assertThat(first).hasSize(2);
        assertThat(second.isObject()).isTrue();
        assertThat(second.get("dubs")).hasSize(2);

        simulator.setListShape("wrapped");
        assertThat(json(api().get(API + "/dubs"), 200).get("dubs")).hasSize(2);
        assertThat(json(api().get(API + "/dubs"), 200).get("dubs")).hasSize(2);
        simulator.setListShape("array");
        assertThat(json(api().get(API + "/dubs"), 200).isArray()).isTrue();
        assertThat(json(api().get(API + "/dubs"), 200).isArray()).isTrue();
    }

    @Test
    void countersCountEveryCallPerOperation() throws Exception {
        api().get(API + "/me").then().statusCode(200);
        api().body(group("a.mp4", 30, "fr", "it")).post(API + "/init-dub-group").then().statusCode(200);
        api().body(group("b.mp4", 30, "xx")).post(API + "/init-dub-group").then().statusCode(400);
        api().body(Map.of("fileType", "video/mp4", "name", "c.mp4", "source_lang", "en", "duration", 30, "dest_lang", "de"))
                .post(API + "/init-dub").then().statusCode(200);
        JsonNode single = json(api().body(Map.of("fileType", "video/mp4", "name", "d.mp4", "source_lang", "en", "duration", 30,
                "dest_lang", "de")).post(API + "/init-dub"), 200);
        api().body(Map.of("fileId", single.get("fileId").asText())).post(API + "/start-dub").then().statusCode(412);
        api().get(API + "/dubs").then().statusCode(200);
        api().get(API + "/dubs/" + single.get("fileId").asText() + "/outputs").then().statusCode(200);
        api().get(API + "/projects/" + single.get("projectId").asText() + "/outputs").then().statusCode(200);
        given().get(API + "/me").then().statusCode(401);

        assertThat(simulator.calls("me")).isEqualTo(1);
        assertThat(simulator.calls("init-dub-group")).isEqualTo(2);
        assertThat(simulator.calls("init-dub")).isEqualTo(2);
        assertThat(simulator.calls("start-dub")).isEqualTo(1);
        assertThat(simulator.calls("dubs")).isEqualTo(1);
        assertThat(simulator.calls("outputs")).isEqualTo(2);
        // Each init-dub is an independent project; the group is one project.
        assertThat(simulator.projectCount()).isEqualTo(3);

        JsonNode overHttp = json(given().get(CONTROL + "/calls"), 200);
        assertThat(overHttp.get("init-dub-group").asInt()).isEqualTo(2);
        assertThat(overHttp.get("init-dub").asInt()).isEqualTo(2);
        assertThat(overHttp.get("me").asInt()).isEqualTo(1);
    }

    @Test
    void outagesAndLostAnswersCanBeInjectedOverHttp() throws Exception {
        given().post(CONTROL + "/fail-next?operation=init-dub&status=503&times=2").then().statusCode(200);
        Map<String, Object> request = Map.of("fileType", "video/mp4", "name", "job-42.mp4", "source_lang", "en", "duration", 30,
                "dest_lang", "de");
        assertError(api().body(request).post(API + "/init-dub"), 503, "Simulated outage");
        assertError(api().body(request).post(API + "/init-dub"), 503, "Simulated outage");
        assertThat(simulator.projectCount()).isZero();
        api().body(request).post(API + "/init-dub").then().statusCode(200);
        assertThat(simulator.projectCount()).isEqualTo(1);

        given().post(CONTROL + "/lose-next-answer?operation=init-dub-group").then().statusCode(200);
        assertError(api().body(group("job-43.mp4", 30, "fr", "it")).post(API + "/init-dub-group"), 502, "Bad gateway");
        // The work was done: a client that looks before creating again finds it.
        assertThat(dubs()).filteredOn(d -> d.get("name").asText().equals("job-43.mp4")).hasSize(2);
        api().body(group("job-44.mp4", 30, "fr")).post(API + "/init-dub-group").then().statusCode(200);
        assertThat(simulator.calls("init-dub")).isEqualTo(3);
        assertThat(simulator.calls("init-dub-group")).isEqualTo(2);

        given().post(CONTROL + "/fail-next?operation=nonsense&status=500").then().statusCode(400);
    }

    @Test
    void controlEndpointsWorkWithoutApiKey() throws Exception {
        given().post(CONTROL + "/credits?value=42").then().statusCode(200);
        assertThat(json(given().get(CONTROL + "/credits"), 200).get("credits").asLong()).isEqualTo(42);
        assertThat(json(api().get(API + "/me"), 200).get("credits").asLong()).isEqualTo(42);

        given().post(CONTROL + "/stage-duration?millis=50").then().statusCode(200);
        given().post(CONTROL + "/output-ttl?seconds=120").then().statusCode(200);
        given().queryParam("lang", "it").queryParam("message", "No speech found").post(CONTROL + "/fail-language").then().statusCode(200);
        given().post(CONTROL + "/list-shape?shape=wrapped").then().statusCode(200);
        JsonNode state = json(given().get(CONTROL + "/state"), 200);
        assertThat(state.get("stageMillis").asLong()).isEqualTo(50);
        assertThat(state.get("outputTtlSeconds").asLong()).isEqualTo(120);
        assertThat(state.at("/failLanguages/it").asText()).isEqualTo("No speech found");
        assertThat(state.get("listShape").asText()).isEqualTo("wrapped");

        given().post(CONTROL + "/reset").then().statusCode(200);
        assertThat(simulator.credits()).isEqualTo(DublabSimulator.DEFAULT_CREDITS);
        JsonNode after = json(given().get(CONTROL + "/state"), 200);
        assertThat(after.get("failLanguages").size()).isZero();
        assertThat(after.get("calls").get("me").asInt()).isZero();
        given().post(CONTROL + "/credits").then().statusCode(400);
    }

    @Test
    void expiredOutputLinksAreRefusedAndAFreshCallSignsNewOnes() throws Exception {
        simulator.setOutputLinkTtl(Duration.ofSeconds(1));
        String fileId = completedDub("short.mp4", "ko");

        JsonNode outputs = json(api().get(API + "/dubs/" + fileId + "/outputs"), 200);
        assertThat(outputs.get("expiresIn").asInt()).isEqualTo(1);
        URI link = URI.create(outputs.at("/outputs/translated_mp4/url").asText());
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> get(link).statusCode() == 403);
        assertThat(new String(get(link).body(), StandardCharsets.UTF_8)).contains("Request has expired");

        simulator.setOutputLinkTtl(Duration.ofHours(1));
        URI fresh = URI.create(json(api().get(API + "/dubs/" + fileId + "/outputs"), 200).at("/outputs/translated_mp4/url").asText());
        assertThat(get(fresh).statusCode()).isEqualTo(200);
    }

    @Test
    void stateSurvivesARestartOfTheSimulator() throws Exception {
        simulator.setCredits(777);
        JsonNode created = json(api().body(group("persisted.mp4", 60, "ja", "zh")).post(API + "/init-dub-group"), 200);
        String projectId = created.get("projectId").asText();
        assertThat(put(URI.create(created.get("uploadUrl").asText()), randomBytes(100), "video/mp4").statusCode()).isEqualTo(200);
        api().body(Map.of("fileId", created.at("/files/0/fileId").asText())).post(API + "/start-dub").then().statusCode(200);

        Path file = SandboxSimulatorTestProfile.DATA_DIR.resolve(".sandbox/dublab-sim.json");
        assertThat(Files.readString(file)).contains(projectId);

        simulator.reload();

        assertThat(simulator.calls("init-dub-group")).isEqualTo(1);
        assertThat(dubs()).hasSize(2);
        String started = created.at("/files/0/fileId").asText();
        String waiting = created.at("/files/1/fileId").asText();
        await().atMost(Duration.ofSeconds(10)).until(() -> simulator.externalStatusId(started) == 5);
        assertThat(simulator.externalStatusId(waiting)).isEqualTo(1);
        // The upload mark survived too: the second language can still start.
        api().body(Map.of("fileId", waiting)).post(API + "/start-dub").then().statusCode(200);
        assertThat(simulator.credits()).isEqualTo(777 - 1);
    }

    // ------------------------------------------------------------------ helpers

    private String completedDub(String name, String lang) throws Exception {
        JsonNode created = json(api().body(group(name, 10, lang)).post(API + "/init-dub-group"), 200);
        assertThat(put(URI.create(created.get("uploadUrl").asText()), randomBytes(500), "video/mp4").statusCode()).isEqualTo(200);
        String fileId = created.at("/files/0/fileId").asText();
        api().body(Map.of("fileId", fileId)).post(API + "/start-dub").then().statusCode(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> simulator.externalStatusId(fileId) == 5);
        return fileId;
    }

    private static RequestSpecification api() {
        return given().header("apikey", DublabSimulator.API_KEY).contentType(ContentType.JSON);
    }

    private static Map<String, Object> group(String name, double duration, String... langs) {
        return Map.of("fileType", "video/mp4", "name", name, "source_lang", "en",
                "duration", duration == Math.rint(duration) ? (Object) (long) duration : duration, "dest_langs", List.of(langs));
    }

    /** GET /dubs in whichever of the two documented shapes it comes. */
    private static List<JsonNode> dubs() throws Exception {
        JsonNode answer = json(api().get(API + "/dubs"), 200);
        JsonNode array = answer.isArray() ? answer : answer.get("dubs");
        List<JsonNode> list = new ArrayList<>();
        array.forEach(list::add);
        return list;
    }

    private static JsonNode json(Response response, int status) throws Exception {
        assertThat(response.statusCode()).as(response.asString()).isEqualTo(status);
        assertThat(response.contentType()).startsWith("application/json");
        return JSON.readTree(response.asString());
    }

    private static void assertError(Response response, int status, String messagePart) throws Exception {
        JsonNode body = json(response, status);
        assertThat(body.get("error").asText()).contains(messagePart);
    }

    private static byte[] download(JsonNode outputs, String type, String which) throws Exception {
        HttpResponse<byte[]> response = get(URI.create(outputs.at("/outputs/" + type + "/" + which).asText()));
        assertThat(response.statusCode()).as(type + " " + which).isEqualTo(200);
        return response.body();
    }

    private static HttpResponse<byte[]> get(URI url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> list = new ArrayList<>();
        it.forEachRemaining(list::add);
        return list;
    }
}

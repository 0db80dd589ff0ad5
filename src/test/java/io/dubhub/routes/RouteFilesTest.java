package io.dubhub.routes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;

/**
 * config/routes edited while the hub runs (a temp config folder, checked every 200 ms): files
 * added, changed, broken, fixed and removed; the previous routes of a broken file keep running.
 */
@QuarkusTest
@TestProfile(RouteFilesTest.Profile.class)
class RouteFilesTest {

    static final Path CONFIG = Path.of("target", "test-config", "route-files").toAbsolutePath();
    static final Duration WAIT = Duration.ofSeconds(30);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                FreshDataDir.deleteTree(CONFIG);
                Files.createDirectories(CONFIG.resolve("routes"));
                Files.writeString(CONFIG.resolve("routes/base.yaml"), folderRoute("rt-base", "dublab", "base", "es", 2000));
                // broken from the start: reported, and the hub (and base.yaml) start all the same
                Files.writeString(CONFIG.resolve("routes/broken-at-start.yaml"), "- templatedRoute:\n    routeTemplateRef: watch-folder\n"
                        + "    routeId: rt-start\n    parameters:\n      - name: provider\n        value: dublab\n"
                        + "      - name: folder\n        value: x\n      - name: color\n        value: blue\n");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            // perso disabled: its routes are applied with a warning, its files wait (as before)
            return Map.of("hub.config-dir", CONFIG.toString(), "hub.routes.check-interval", "200ms",
                    "hub.providers.perso.api-key", "");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    CamelContext camel;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();
    final List<String> log = new CopyOnWriteArrayList<>();
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            log.add(record.getLevel() + " " + (record.getParameters() == null ? record.getMessage()
                    : String.format(record.getMessage(), record.getParameters())));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @Inject
    RouteFiles routeFiles;

    @BeforeEach
    void captureLog() {
        await().atMost(WAIT).until(routeFiles::initialLoadDone);
        Logger.getLogger(RouteFiles.class.getName()).addHandler(capture);
    }

    @AfterEach
    void stopCapture() {
        Logger.getLogger(RouteFiles.class.getName()).removeHandler(capture);
    }

    static String folderRoute(String routeId, String provider, String inbox, String targetLanguages, int scanDelay) {
        return "- templatedRoute:\n"
                + "    routeTemplateRef: watch-folder\n"
                + "    routeId: " + routeId + "\n"
                + "    parameters:\n"
                + "      - name: provider\n"
                + "        value: " + provider + "\n"
                + "      - name: folder\n"
                + "        value: \"{{hub.data-dir}}/inbox/" + inbox + "\"\n"
                + "      - name: targetLanguages\n"
                + "        value: " + targetLanguages + "\n"
                + "      - name: scanDelay\n"
                + "        value: " + scanDelay + "\n";
    }

    /** Written elsewhere and moved in, as an editor that saves atomically would. */
    static Path write(String name, String content) throws IOException {
        Path tmp = Files.createTempFile(CONFIG, ".edit-", ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        return Files.move(tmp, CONFIG.resolve("routes").resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    JsonNode fileStatus(String name) throws IOException {
        JsonNode files = json.readTree(given().get("/api/routes").then().statusCode(200).extract().asString()).get("files");
        for (JsonNode f : files) {
            if (f.get("file").asText().endsWith("/" + name)) {
                return f;
            }
        }
        return null;
    }

    JsonNode awaitFile(String name, String state, String sha256) {
        JsonNode[] found = new JsonNode[1];
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() -> {
            found[0] = fileStatus(name);
            return found[0] != null && found[0].get("state").asText().equals(state) && found[0].get("sha256").asText().equals(sha256);
        });
        return found[0];
    }

    static byte[] bytes(String yaml) {
        return yaml.getBytes(StandardCharsets.UTF_8);
    }

    ServiceStatus status(String routeId) {
        return camel.getRouteController().getRouteStatus(routeId);
    }

    String endpoint(String routeId) {
        return camel.getRoute(routeId).getEndpoint().getEndpointUri();
    }

    @Test
    void aBrokenFileAtStartIsReportedAndTheOtherFilesRoutesRun() throws Exception {
        assertThat(status("rt-base")).isEqualTo(ServiceStatus.Started);
        assertThat(camel.getRoute("rt-start")).isNull();
        JsonNode broken = fileStatus("broken-at-start.yaml");
        assertThat(broken.get("state").asText()).isEqualTo("broken");
        assertThat(broken.get("appliedSha256").isNull()).isTrue();
        assertThat(broken.at("/errors/0/line").asInt()).isEqualTo(9);
        assertThat(broken.at("/errors/0/message").asText()).contains("unknown parameter 'color'");
        // the default: reported, not taken out of the load balancer (the rest of the hub works)
        given().get("/q/health/ready").then()
                .body("checks.find { it.name == 'routes' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'routes' }.data.brokenFiles", greaterThanOrEqualTo(1));
        String health = given().get("/q/health/ready").then().extract().asString();
        assertThat(health).contains("broken-at-start.yaml:9: error: unknown parameter 'color'")
                .contains("none of its routes run until it is fixed");
        // the shipped config/routes is not read at all when a config folder is set
        assertThat(camel.getRoute("inbox-dublab")).isNull();
    }

    @Test
    void anAddedFileStartsItsRouteAndItsFolderIsProcessed() throws Exception {
        Path file = write("added.yaml", folderRoute("rt-added", "dublab", "added", "es", 500));
        String sha = Drops.sha256(file);
        awaitFile("added.yaml", "applied", sha);
        assertThat(status("rt-added")).isEqualTo(ServiceStatus.Started);

        Path inbox = Path.of(config.dataDir(), "inbox/added");
        Drops.sidecar(inbox, "clip.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "clip.mp4", Duration.ofSeconds(20));
        Path manifest = Path.of(config.dataDir(), "outbox/clip/job.json");
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(manifest));
        assertThat(json.readTree(manifest.toFile()).get("state").asText()).isEqualTo("delivered");
        assertThat(log).anyMatch(l -> l.contains("Applied") && l.contains("added.yaml") && l.contains(sha));
    }

    @Test
    void anEditedParameterReplacesTheRouteAndLogsTheHash() throws Exception {
        Path file = write("edited.yaml", folderRoute("rt-edited", "dublab", "edited", "es", 2000));
        awaitFile("edited.yaml", "applied", Drops.sha256(file));
        assertThat(endpoint("rt-edited")).contains("delay=2000");

        write("edited.yaml", folderRoute("rt-edited", "dublab", "edited", "de", 1500));
        String sha = Drops.sha256(file);
        JsonNode applied = awaitFile("edited.yaml", "applied", sha);
        assertThat(applied.get("appliedSha256").asText()).isEqualTo(sha);
        assertThat(applied.at("/routes/0/routeId").asText()).isEqualTo("rt-edited");
        assertThat(applied.at("/routes/0/status").asText()).isEqualTo("Started");
        assertThat(endpoint("rt-edited")).contains("delay=1500");
        assertThat(log).anyMatch(l -> l.startsWith("INFO") && l.contains("Applied") && l.contains("edited.yaml") && l.contains(sha));
    }

    @Test
    void aBrokenEditKeepsThePreviousRoutesRunningUntilItIsFixed() throws Exception {
        Path file = write("guarded.yaml", folderRoute("rt-guarded", "dublab", "guarded", "es", 2000));
        String good = Drops.sha256(file);
        awaitFile("guarded.yaml", "applied", good);

        Map<String, String> brokenVersions = Map.of(
                "not valid YAML", "- templatedRoute:\n    routeTemplateRef: watch-folder\n    routeId: rt-guarded\n   parameters: [\n",
                "unknown template", folderRoute("rt-guarded", "dublab", "guarded", "es", 1000).replace("watch-folder", "watch-folderz"),
                "unknown parameter", folderRoute("rt-guarded", "dublab", "guarded", "es", 1000).replace("scanDelay", "scanDelayMs"),
                "routeId '", folderRoute("rt-guarded", "dublab", "guarded", "es", 1000)
                        + folderRoute("rt-base", "dublab", "guarded2", "es", 1000),
                "Camel refused", folderRoute("rt-guarded", "dublab", "guarded", "es", 1000).replace("value: 1000", "value: soon"));
        Map<String, Integer> lines = Map.of("not valid YAML", 4, "unknown template", 2, "unknown parameter", 11, "routeId '", 13);
        for (var broken : brokenVersions.entrySet()) {
            write("guarded.yaml", broken.getValue());
            JsonNode status = awaitFile("guarded.yaml", "broken", Drops.sha256(file));
            assertThat(status.get("appliedSha256").asText()).as(broken.getKey()).isEqualTo(good);
            assertThat(status.at("/errors/0/message").asText()).as(broken.getKey()).containsIgnoringCase(broken.getKey());
            if (lines.containsKey(broken.getKey())) {
                assertThat(status.at("/errors/0/line").asInt()).as(broken.getKey()).isEqualTo(lines.get(broken.getKey()));
            }
            assertThat(status.at("/routes/0/status").asText()).as(broken.getKey()).isEqualTo("Started");
            assertThat(status("rt-guarded")).as(broken.getKey()).isEqualTo(ServiceStatus.Started);
            assertThat(endpoint("rt-guarded")).as(broken.getKey()).contains("delay=2000");
            assertThat(status("rt-base")).as(broken.getKey()).isEqualTo(ServiceStatus.Started);
            assertThat(given().get("/q/health/ready").then().extract().asString()).as(broken.getKey())
                    .contains("guarded.yaml").contains("previous version (sha256 " + good);
        }

        write("guarded.yaml", folderRoute("rt-guarded", "dublab", "guarded", "es", 1000));
        awaitFile("guarded.yaml", "applied", Drops.sha256(file));
        assertThat(endpoint("rt-guarded")).contains("delay=1000");
        assertThat(given().get("/q/health/ready").then().extract().asString()).doesNotContain("guarded.yaml:");
    }

    @Test
    void aFileIsNeverHalfApplied() throws Exception {
        Path file = write("three.yaml", folderRoute("rt-one", "dublab", "one", "es", 2000)
                + folderRoute("rt-two", "dublab", "two", "es", 2000)
                + folderRoute("rt-three", "dublab", "three", "es", 2000).replace("targetLanguages", "targetLanguage"));
        JsonNode status = awaitFile("three.yaml", "broken", Drops.sha256(file));
        assertThat(status.at("/errors/0/line").asInt()).isEqualTo(33);
        assertThat(camel.getRoute("rt-one")).isNull();
        assertThat(camel.getRoute("rt-two")).isNull();
        assertThat(camel.getRoute("rt-three")).isNull();
        Files.delete(file);
        await().atMost(WAIT).until(() -> fileStatus("three.yaml") == null);
    }

    @Test
    void aRemovedFileStopsAndRemovesItsRoutes() throws Exception {
        Path file = write("removed.yaml", folderRoute("rt-removed-1", "dublab", "r1", "es", 2000)
                + folderRoute("rt-removed-2", "perso", "r2", "es", 2000));
        JsonNode applied = awaitFile("removed.yaml", "applied", Drops.sha256(file));
        assertThat(applied.at("/warnings/0/message").asText()).contains("perso is disabled");
        assertThat(status("rt-removed-2")).as("a disabled provider's route runs; its files wait").isEqualTo(ServiceStatus.Started);

        Files.delete(file);
        await().atMost(WAIT).until(() -> fileStatus("removed.yaml") == null);
        assertThat(camel.getRoute("rt-removed-1")).isNull();
        assertThat(camel.getRoute("rt-removed-2")).isNull();
        assertThat(log).anyMatch(l -> l.contains("removed.yaml was removed") && l.contains("rt-removed-1"));
    }

    @Test
    void validateAnswers200WithWarningsOr422WithErrorsAndLines() {
        given().contentType("application/yaml").body(bytes(folderRoute("rt-posted", "dublab", "posted", "es", 2000)))
                .post("/api/routes/validate").then().statusCode(200)
                .body("valid", equalTo(true)).body("routeIds", hasItem("rt-posted"));
        assertThat(camel.getRoute("rt-posted")).as("validation applies nothing").isNull();

        given().contentType("application/yaml").body(bytes(folderRoute("rt-posted", "nosuch", "posted", "es", 2000)
                        + folderRoute("rt-base", "dublab", "posted", "es", 2000)))
                .post("/api/routes/validate").then().statusCode(422)
                .body("valid", equalTo(false))
                .body("errors[0].line", equalTo(5)).body("errors[0].message", containsString("unknown provider 'nosuch'"))
                .body("errors[1].line", equalTo(13)).body("errors[1].message", containsString("already used by"))
                .body("messages[0]", containsString(":5: error: unknown provider"));

        given().contentType("application/yaml").body(bytes(folderRoute("rt-posted", "perso", "posted", "es", 2000)))
                .post("/api/routes/validate").then().statusCode(200)
                .body("valid", equalTo(true))
                .body("warnings[0].line", equalTo(5)).body("warnings[0].message", containsString("perso is disabled"));

        // posted as the new version of base.yaml, its own routeId is no conflict
        given().contentType("application/yaml").queryParam("file", "base.yaml")
                .body(bytes(folderRoute("rt-base", "dublab", "base", "de", 2000)))
                .post("/api/routes/validate").then().statusCode(200).body("valid", equalTo(true));
    }
}

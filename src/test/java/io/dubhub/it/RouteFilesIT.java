package io.dubhub.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The packaged hub and the packaged offline check, as ops run them: the validate command's exit
 * codes, and a routes file broken, fixed and removed under a running hub process.
 */
class RouteFilesIT {

    static final Path APP = Path.of("target", "quarkus-app").toAbsolutePath();
    final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    record Run(int exitCode, String output) {
    }

    Run validate(String... files) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", APP.resolve("app") + "/*:" + APP.resolve("lib/main") + "/*", "io.dubhub.routes.ValidateRoutesCommand"));
        cmd.addAll(List.of(files));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), output);
    }

    @Test
    void thePackagedValidateCommandAnswersWithExitCodes() throws Exception {
        Run ok = validate("config/routes/inbox.yaml");
        assertThat(ok.exitCode()).as(ok.output()).isEqualTo(0);
        assertThat(ok.output()).contains("ok, routes [inbox-dublab, inbox-speechlab, inbox-perso, inbox-alugha, inbox-vugola]");

        Path bad = Files.writeString(dir.resolve("bad.yaml"), Files.readString(Path.of("config/routes/inbox.yaml"))
                .replace("name: targetLanguages", "name: targetLanguage"));
        Run broken = validate(bad.toString());
        assertThat(broken.exitCode()).as(broken.output()).isEqualTo(1);
        assertThat(broken.output()).contains(bad + ":15: error: unknown parameter 'targetLanguage' for template watch-folder");
    }

    JsonNode file(HubProcess hub, String name) throws IOException {
        var response = hub.get("/api/routes");
        if (response.statusCode() != 200) {
            return null;
        }
        for (JsonNode f : json.readTree(response.body()).get("files")) {
            if (f.get("file").asText().endsWith("/" + name)) {
                return f;
            }
        }
        return null;
    }

    @Test
    void aRunningHubKeepsItsRoutesThroughABrokenEditAndDropsThemWithTheFile() throws Exception {
        Path routes = Files.createDirectories(dir.resolve("config/routes"));
        String shipped = Files.readString(Path.of("config/routes/inbox.yaml"));
        Files.writeString(routes.resolve("inbox.yaml"), shipped);
        Map<String, String> env = Map.of("HUB_CONFIG_DIR", dir.resolve("config").toString(),
                "HUB_DATA_DIR", dir.resolve("data").toString(), "HUB_ROUTES_CHECK_INTERVAL", "300ms");
        try (HubProcess hub = new HubProcess("routes", HubProcess.freePort(), List.of(), env).start()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> file(hub, "inbox.yaml") != null);
            JsonNode applied = file(hub, "inbox.yaml");
            assertThat(applied.get("state").asText()).isEqualTo("applied");
            assertThat(applied.at("/routes/0/status").asText()).isEqualTo("Started");

            Path tmp = Files.writeString(dir.resolve("edit.tmp"), shipped.replace("routeTemplateRef: watch-folder", "routeTemplateRef: watch-foldr"));
            Files.move(tmp, routes.resolve("inbox.yaml"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            await().atMost(Duration.ofSeconds(30)).until(() -> "broken".equals(file(hub, "inbox.yaml").get("state").asText()));
            JsonNode broken = file(hub, "inbox.yaml");
            assertThat(broken.at("/errors/0/line").asInt()).isEqualTo(6);
            assertThat(broken.at("/errors/0/message").asText()).contains("unknown template 'watch-foldr'");
            assertThat(broken.get("appliedSha256").asText()).isEqualTo(applied.get("sha256").asText());
            assertThat(broken.at("/routes/2/status").asText()).isEqualTo("Started");
            var health = hub.get("/q/health/ready");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("inbox.yaml:6: error: unknown template 'watch-foldr'");

            Files.delete(routes.resolve("inbox.yaml"));
            await().atMost(Duration.ofSeconds(30)).until(() -> file(hub, "inbox.yaml") == null);
            assertThat(hub.get("/q/health/ready").body()).doesNotContain("inbox-dublab");
        }
    }
}

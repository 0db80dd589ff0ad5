package io.dubhub.notify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.dubhub.config.HubConfig;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Job ends are announced as signed CloudEvents to the route's notifyUrl (else the hub's webhook)
 * and appended to data/events.jsonl; a receiver that fails is retried from the ledger's outbox.
 */
@QuarkusTest
@TestProfile(NotificationsTest.Profile.class)
class NotificationsTest {

    static final String SECRET = "notify-secret-7d";
    static final int PORT = freePort();
    static HttpServer receiver;
    static final List<Received> received = new CopyOnWriteArrayList<>();
    /** The hub-wide hook answers 500 this many times before it accepts. */
    static final AtomicInteger globalFailures = new AtomicInteger(2);

    record Received(String path, String contentType, String signature, String body) {
    }

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.notifications.webhook-url", "http://127.0.0.1:" + PORT + "/global-hook",
                    "hub.notifications.secret", SECRET,
                    "hub.notifications.tick", "200ms",
                    "hub.notifications.max-backoff", "1s");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @BeforeAll
    static void startReceiver() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", PORT), 0);
        receiver.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = exchange.getRequestURI().getPath();
            int status = path.equals("/global-hook") && globalFailures.getAndDecrement() > 0 ? 500 : 204;
            if (status == 204) {
                received.add(new Received(path, exchange.getRequestHeaders().getFirst("Content-Type"),
                        exchange.getRequestHeaders().getFirst("X-Dubhub-Signature"), body));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterAll
    static void stopReceiver() {
        receiver.stop(0);
    }

    @Inject
    HubConfig config;

    @Inject
    CamelContext camel;

    final ObjectMapper json = new ObjectMapper();

    List<JsonNode> eventsLog() throws Exception {
        Path log = Path.of(config.dataDir(), "events.jsonl");
        if (!Files.exists(log)) {
            return List.of();
        }
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            out.add(json.readTree(line));
        }
        return out;
    }

    @Test
    void aDeliveredJobIsAnnouncedSignedRetriedAndLogged() throws Exception {
        Path inbox = Path.of(config.dataDir(), "inbox/dublab");
        Drops.video(inbox, "announce.mp4", Duration.ofSeconds(5));

        await().atMost(Duration.ofSeconds(60)).until(() -> received.stream().anyMatch(r -> r.body().contains("announce.mp4")));
        Received hook = received.stream().filter(r -> r.body().contains("announce.mp4")).findFirst().orElseThrow();
        assertThat(hook.path()).isEqualTo("/global-hook");
        assertThat(hook.contentType()).isEqualTo("application/cloudevents+json");
        assertThat(hook.signature()).isEqualTo("sha256=" + Notifier.sign(SECRET, hook.body().getBytes(StandardCharsets.UTF_8)));
        JsonNode event = json.readTree(hook.body());
        assertThat(event.get("specversion").asText()).isEqualTo("1.0");
        assertThat(event.get("type").asText()).isEqualTo("io.dubhub.job.delivered");
        String jobId = event.get("subject").asText();
        assertThat(event.get("id").asText()).isEqualTo(jobId + ".delivered");
        assertThat(event.at("/data/manifest").asText()).isEqualTo("outbox/announce/job.json");
        assertThat(event.at("/data/outputs").size()).isPositive();

        List<JsonNode> logged = eventsLog().stream().filter(e -> e.get("subject").asText().equals(jobId)).toList();
        assertThat(logged).hasSize(1);
        assertThat(logged.get(0).get("id").asText()).isEqualTo(jobId + ".delivered");

        // the receiver refused twice: the ledger outbox kept it and tried again
        JsonNode job = json.readTree(given().get("/api/jobs/" + jobId).then().statusCode(200).extract().asString());
        JsonNode webhook = null;
        for (JsonNode n : job.get("notifications")) {
            if (n.get("target").asText().equals("webhook")) {
                webhook = n;
            }
        }
        assertThat(webhook).isNotNull();
        assertThat(webhook.get("state").asText()).isEqualTo("sent");
        assertThat(webhook.get("attempts").asInt()).isEqualTo(2);
    }

    @Test
    void aFailedJobOfARouteWithItsOwnNotifyUrlIsAnnouncedThere() throws Exception {
        Path folder = Path.of(config.dataDir(), "inbox/notify-route");
        TemplatedRouteBuilder.builder(camel, "watch-folder").routeId("notify-route")
                .parameter("provider", "dublab").parameter("folder", folder.toString())
                .parameter("sourceLanguage", "en").parameter("targetLanguages", "es")
                .parameter("notifyUrl", "http://127.0.0.1:" + PORT + "/route-hook")
                .parameter("settleTime", "500").parameter("scanDelay", "300")
                .add();
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("notes.mp4"), "this is not a video at all");

        await().atMost(Duration.ofSeconds(60)).until(() -> received.stream().anyMatch(r -> r.path().equals("/route-hook")));
        JsonNode event = json.readTree(received.stream().filter(r -> r.path().equals("/route-hook")).findFirst().orElseThrow().body());
        assertThat(event.get("type").asText()).isEqualTo("io.dubhub.job.failed");
        assertThat(event.get("source").asText()).isEqualTo("dubhub/notify-route");
        assertThat(event.at("/data/reason").asText()).isNotBlank();
        await().atMost(Duration.ofSeconds(10)).until(() -> eventsLog().stream()
                .anyMatch(e -> e.get("type").asText().equals("io.dubhub.job.failed") && e.get("source").asText().equals("dubhub/notify-route")));
    }
}

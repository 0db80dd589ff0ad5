package io.dubhub.spend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.ledger.BudgetLedger;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.TemplatedRouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The spend guard end to end on the dublab simulator, with a daily dublab budget of 10 credits
 * (1 credit per started minute per language). The tests run in order because they share one
 * budget day: the balance check spends nothing, the route test 2 credits, the cap test the rest.
 */
@QuarkusTest
@TestProfile(SpendGuardTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpendGuardTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.budget.providers.dublab.daily-credits", "10");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    DublabSimulator sim;

    @Inject
    HubConfig config;

    @Inject
    CamelContext camel;

    @Inject
    BudgetLedger budgets;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulator() {
        sim.reset();
        sim.setStageDuration(Duration.ofMillis(300));
    }

    Path data() {
        return Path.of(config.dataDir());
    }

    JsonNode read(Path file) {
        await().atMost(WAIT).until(() -> Files.exists(file));
        try {
            return json.readTree(file.toFile());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    static String today() {
        return LocalDate.now(ZoneOffset.UTC).toString();
    }

    static String tomorrowMidnight() {
        return LocalDate.now(ZoneOffset.UTC).plusDays(1) + "T00:00Z";
    }

    /** Jobs of {@code provider} that wait in the submit stage, as the API shows them. */
    List<JsonNode> waitingJobs() throws Exception {
        JsonNode list = json.readTree(given().get("/api/jobs?state=submitting&provider=dublab").then().statusCode(200).extract().asString());
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode j : list) {
            JsonNode full = json.readTree(given().get("/api/jobs/" + j.get("id").asText()).then().statusCode(200).extract().asString());
            if (full.path("reason").asText("").contains("budget")) {
                out.add(full);
            }
        }
        return out;
    }

    @Test
    @Order(1)
    void aBalanceTooLowFailsBeforeAnyCreateWithTheArithmeticAndReleasesTheReservation() throws Exception {
        sim.setCredits(1);
        Path inbox = data().resolve("inbox/dublab");
        Drops.sidecar(inbox, "poor.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\",\"de\"]}");
        Drops.video(inbox, "poor.mp4", Duration.ofSeconds(30));

        JsonNode error = read(data().resolve("failed/dublab/poor.mp4.error.json"));
        String reason = error.toString();
        assertThat(reason).contains("dublab: out of credits: this job needs ceil(0.50 min) × 2 language(s) = 2 credits")
                .contains("the account has 1 left; nothing was submitted");
        assertThat(sim.calls("me")).isEqualTo(1);
        assertThat(sim.calls("init-dub-group")).isZero();
        assertThat(sim.calls("init-dub")).isZero();
        assertThat(sim.calls("start-dub")).isZero();
        // it reserved 2 credits of the dublab budget before asking, and spent none: released
        await().atMost(WAIT).until(() -> budgets.used("provider:dublab", today()) == 0.0);
    }

    @Test
    @Order(2)
    void aRoutesOwnDailyBudgetHoldsBackWhatDoesNotFit() throws Exception {
        Path folder = data().resolve("inbox/spend-route");
        Files.createDirectories(folder);
        TemplatedRouteBuilder.builder(camel, "watch-folder").routeId("spend-route")
                .parameter("provider", "dublab").parameter("folder", folder.toString())
                .parameter("sourceLanguage", "en").parameter("targetLanguages", "es")
                .parameter("dailyCredits", "3")
                .parameter("settleTime", "500").parameter("scanDelay", "300")
                .add();
        // 90 s in one language: 2 credits each; the route allows 3 a day
        Drops.video(folder, "first.mp4", Duration.ofSeconds(90));
        Drops.video(folder, "second.mp4", Duration.ofSeconds(90));

        await().atMost(WAIT).until(() -> Files.exists(data().resolve("outbox/first/job.json"))
                || Files.exists(data().resolve("outbox/second/job.json")));
        await().atMost(WAIT).until(() -> waitingJobs().stream().anyMatch(j -> j.get("route").asText().equals("spend-route")));
        JsonNode waiting = waitingJobs().stream().filter(j -> j.get("route").asText().equals("spend-route")).findFirst().orElseThrow();
        String delivered = waiting.get("source").asText().equals("first.mp4") ? "second" : "first";
        JsonNode manifest = read(data().resolve("outbox/" + delivered + "/job.json"));

        assertThat(manifest.get("state").asText()).isEqualTo("delivered");
        assertThat(manifest.get("credits").asDouble()).isEqualTo(2.0);
        assertThat(waiting.get("state").asText()).isEqualTo("submitting");
        assertThat(waiting.get("reason").asText()).isEqualTo("route spend-route budget: today 2 of 3 credits used/reserved, this job needs 2;"
                + " waiting until " + tomorrowMidnight());
        assertThat(waiting.get("attempts").asInt()).isZero();
        assertThat(sim.calls("init-dub")).isEqualTo(1);
        assertThat(sim.calls("me")).isEqualTo(1);
        assertThat(budgets.used("route:spend-route", today())).isEqualTo(2.0);
        assertThat(budgets.used("provider:dublab", today())).isEqualTo(2.0);
    }

    @Test
    @Order(3)
    void aProviderDailyBudgetDeliversWhatFitsAndHoldsTheRestWithoutCreatingIt() throws Exception {
        Path inbox = data().resolve("inbox/dublab");
        // 2 credits were spent by the route test; 4 minutes in one language = 4 credits each: two fit in 10
        for (String name : List.of("cap-a", "cap-b", "cap-c")) {
            Drops.sidecar(inbox, name + ".mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
            Drops.video(inbox, name + ".mp4", Duration.ofMinutes(4));
        }
        await().atMost(WAIT).until(() -> waitingJobs().stream().anyMatch(j -> j.get("source").asText().startsWith("cap-")));
        JsonNode waiting = waitingJobs().stream().filter(j -> j.get("source").asText().startsWith("cap-")).findFirst().orElseThrow();
        List<String> others = new ArrayList<>(List.of("cap-a", "cap-b", "cap-c"));
        others.remove(waiting.get("source").asText().replace(".mp4", ""));
        for (String name : others) {
            JsonNode manifest = read(data().resolve("outbox/" + name + "/job.json"));
            assertThat(manifest.get("state").asText()).isEqualTo("delivered");
            assertThat(manifest.get("credits").asDouble()).isEqualTo(4.0);
        }
        assertThat(waiting.get("reason").asText()).isEqualTo("dublab budget: today 10 of 10 credits used/reserved, this job needs 4;"
                + " waiting until " + tomorrowMidnight());
        assertThat(waiting.get("attempts").asInt()).isZero();
        assertThat(waiting.get("providerId").isNull()).isTrue();
        // the held job never reached dublab: two creates, two balance checks
        assertThat(sim.calls("init-dub")).isEqualTo(2);
        assertThat(sim.calls("me")).isEqualTo(2);
        assertThat(budgets.used("provider:dublab", today())).isEqualTo(10.0);
        assertThat(budgets.reservation("provider:dublab", waiting.get("id").asText())).isEmpty();

        // the counter moves once the job has ended, just after its manifest is written
        await().atMost(WAIT).until(() -> given().get("/q/metrics").then().extract().asString()
                .contains("dubhub_credits_used_total{provider=\"dublab\"} 10.0"));
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics)
                .contains("dubhub_budget_daily_credits{budget=\"provider:dublab\"} 10.0")
                .contains("dubhub_budget_used_credits{budget=\"provider:dublab\"} 10.0");
    }
}

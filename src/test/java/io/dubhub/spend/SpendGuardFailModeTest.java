package io.dubhub.spend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.sandbox.DublabSimulator;
import io.dubhub.sandbox.PersoSimulator;
import io.dubhub.testing.Drops;
import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * hub.budget.when-exceeded=fail, a dublab budget of 3 credits a day, and a budget on Perso, whose
 * cost dubhub cannot estimate: every refusal is a failure with the arithmetic, before any create.
 */
@QuarkusTest
@TestProfile(SpendGuardFailModeTest.Profile.class)
class SpendGuardFailModeTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("hub.budget.providers.dublab.daily-credits", "3",
                    "hub.budget.providers.perso.daily-credits", "3",
                    "hub.budget.providers.alugha.daily-credits", "100",
                    "hub.budget.when-exceeded", "fail");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(FreshDataDir.class));
        }
    }

    @Inject
    DublabSimulator dublab;

    @Inject
    PersoSimulator perso;

    @Inject
    io.dubhub.sandbox.AlughaSimulator alugha;

    @Inject
    HubConfig config;

    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void resetSimulators() {
        dublab.reset();
        dublab.setStageDuration(Duration.ofMillis(300));
        perso.reset();
        alugha.reset();
    }

    JsonNode error(String provider, String name) throws Exception {
        Path file = Path.of(config.dataDir(), "failed", provider, name + ".error.json");
        await().atMost(WAIT).until(() -> Files.exists(file));
        return json.readTree(file.toFile());
    }

    @Test
    void overTheBudgetFailsWithTheArithmeticInsteadOfWaiting() throws Exception {
        Path inbox = Path.of(config.dataDir(), "inbox/dublab");
        // 4 minutes: 4 credits, more than the whole day's 3
        Drops.sidecar(inbox, "huge.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "huge.mp4", Duration.ofMinutes(4));
        assertThat(error("dublab", "huge.mp4").get("reason").asText()).isEqualTo("dublab budget: this job needs 4 credits, more than the"
                + " whole daily budget of 3 (HUB_BUDGET_PROVIDERS_DUBLAB_DAILY_CREDITS), so it can never fit; raise the budget or split"
                + " the video, then drop it again");

        // 90 s: 2 credits each; the first fits, the second does not and fails (when-exceeded=fail)
        Drops.sidecar(inbox, "one.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "one.mp4", Duration.ofSeconds(90));
        await().atMost(WAIT).until(() -> Files.exists(Path.of(config.dataDir(), "outbox/one/job.json")));
        Drops.sidecar(inbox, "two.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "two.mp4", Duration.ofSeconds(90));
        assertThat(error("dublab", "two.mp4").get("reason").asText()).isEqualTo("dublab budget: today 2 of 3 credits used/reserved,"
                + " this job needs 2; not submitted (HUB_BUDGET_WHEN_EXCEEDED=fail). Drop the file again when the budget allows it");
        assertThat(dublab.calls("init-dub")).isEqualTo(1);
        assertThat(dublab.calls("me")).isEqualTo(1);
    }

    @Test
    void aPersoBudgetReservesPersosOwnEstimate() throws Exception {
        Path inbox = Path.of(config.dataDir(), "inbox/perso");
        // 90 s to one language: Perso's media/quota answers 2 (the sandbox's price: started minutes × languages)
        Drops.sidecar(inbox, "perso-one.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "perso-one.mp4", Duration.ofSeconds(90));
        await().atMost(WAIT).until(() -> Files.exists(Path.of(config.dataDir(), "outbox/perso-one/job.json")));
        Drops.sidecar(inbox, "perso-two.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"es\"]}");
        Drops.video(inbox, "perso-two.mp4", Duration.ofSeconds(90));
        assertThat(error("perso", "perso-two.mp4").get("reason").asText()).isEqualTo("perso budget: today 2 of 3 credits used/reserved,"
                + " this job needs 2; not submitted (HUB_BUDGET_WHEN_EXCEEDED=fail). Drop the file again when the budget allows it");
        assertThat(perso.calls("estimate-quota")).as("one estimate per job, shared by the budget and the quota check").isEqualTo(2);
        assertThat(perso.calls("translate")).isEqualTo(1);
        assertThat(perso.calls("sas-token")).as("the refused job uploaded nothing").isEqualTo(1);
    }

    @Test
    void aBudgetOnAProviderWithoutAnEstimateFailsItsJobsRatherThanSpendBlind() throws Exception {
        // alugha hosts videos: its API has no price and no balance to reserve against
        Path inbox = Path.of(config.dataDir(), "inbox/alugha");
        Drops.sidecar(inbox, "blind.mp4", "{\"sourceLanguage\":\"en\",\"targetLanguages\":[\"de\"]}");
        Drops.video(inbox, "blind.mp4", Duration.ofSeconds(30));
        assertThat(error("alugha", "blind.mp4").get("reason").asText()).contains("a daily credit budget applies"
                + " (HUB_BUDGET_PROVIDERS_ALUGHA_DAILY_CREDITS = 100) but dubhub cannot estimate what a job costs at alugha");
        assertThat(alugha.videoCount()).isZero();
    }
}

package io.dubhub.metrics;

import io.dubhub.testing.FreshDataDir;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The two counters bench/ScaleBench divides: ledger statements and poll cycles, both moving. */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
class LedgerCountersTest {

    @Test
    void ledgerStatementsAndPollCyclesAreExposedAndCount() {
        double cycles = metric("dubhub_poll_cycles_total");
        await().atMost(Duration.ofSeconds(10)).until(() -> metric("dubhub_poll_cycles_total") > cycles);

        double statements = metric("dubhub_ledger_statements_total");
        given().get("/api/jobs").then().statusCode(200);
        assertThat(metric("dubhub_ledger_statements_total")).isGreaterThan(statements);
    }

    private static double metric(String name) {
        String body = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(body);
        assertThat(m.find()).as("%s in /q/metrics", name).isTrue();
        return Double.parseDouble(m.group(1));
    }
}

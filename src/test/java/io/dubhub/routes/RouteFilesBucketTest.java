package io.dubhub.routes;

import io.dubhub.testing.FreshDataDir;
import io.dubhub.testing.S3ProxyResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** A watch-bucket entry is checked against the real S3 account (S3Proxy) before it is applied. */
@QuarkusTest
@QuarkusTestResource(value = FreshDataDir.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = S3ProxyResource.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "buckets", value = RouteFilesBucketTest.BUCKET))
class RouteFilesBucketTest {

    static final String BUCKET = "routes-check";

    static byte[] bucketRoute(String bucket) {
        return ("- templatedRoute:\n"
                + "    routeTemplateRef: watch-bucket\n"
                + "    routeId: rt-bucket\n"
                + "    parameters:\n"
                + "      - {name: provider, value: dublab}\n"
                + "      - {name: bucket, value: " + bucket + "}\n"
                + "      - {name: prefix, value: to-dub/}\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aReachableBucketIsValidAndAMissingOneIsAnErrorOnItsLine() {
        given().contentType("application/yaml").body(bucketRoute(BUCKET)).post("/api/routes/validate")
                .then().statusCode(200).body("valid", equalTo(true));
        given().contentType("application/yaml").body(bucketRoute("no-such-bucket")).post("/api/routes/validate")
                .then().statusCode(422)
                .body("errors[0].line", equalTo(6))
                .body("errors[0].message", containsString("bucket 'no-such-bucket' does not exist"));
    }
}

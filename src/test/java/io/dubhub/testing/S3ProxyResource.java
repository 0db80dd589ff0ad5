package io.dubhub.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Points the hub's S3 settings at the JVM-wide {@link S3ProxyProcess}:
 * {@code @QuarkusTestResource(S3ProxyResource.class)}, optionally with
 * {@code initArgs = @ResourceArg(name = "buckets", value = "inbox,outbox")} to have buckets ready.
 * The process outlives the test class (it is shared); a shutdown hook stops it with the JVM.
 */
public class S3ProxyResource implements QuarkusTestResourceLifecycleManager {

    private List<String> buckets = List.of();

    @Override
    public void init(Map<String, String> initArgs) {
        String names = initArgs.getOrDefault("buckets", "");
        buckets = Arrays.stream(names.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    @Override
    public Map<String, String> start() {
        S3ProxyProcess s3 = S3ProxyProcess.shared();
        buckets.forEach(s3::createBucket);
        return Map.of(
                "hub.s3.endpoint", s3.endpoint().toString(),
                "hub.s3.region", s3.region(),
                "hub.s3.access-key", s3.accessKey(),
                "hub.s3.secret-key", s3.secretKey(),
                "hub.s3.path-style", "true");
    }

    @Override
    public void stop() {
        // Shared across test classes: starting it again would cost seconds per class.
    }
}

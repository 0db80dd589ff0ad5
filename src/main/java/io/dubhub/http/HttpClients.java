package io.dubhub.http;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.Executors;

/**
 * One JDK HTTP client for every provider call, upload and download. The JDK client sends a
 * file body with its exact Content-Length and no Content-Type unless we set one, which is
 * what presigned PUTs need (S3 signs the Content-Type; an absent one must stay absent).
 */
@ApplicationScoped
public class HttpClients {

    @Produces
    @Singleton
    HttpClient httpClient() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .executor(Executors.newCachedThreadPool(r -> {
                    Thread t = new Thread(r, "dubhub-http");
                    t.setDaemon(true);
                    return t;
                }))
                .build();
    }
}

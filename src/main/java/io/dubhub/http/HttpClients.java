package io.dubhub.http;

import io.dubhub.config.HubConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.net.http.HttpClient;
import java.util.concurrent.Executors;

/**
 * One JDK HTTP client for provider API calls, webhooks and the simulators' own fetches. Media
 * bytes (uploads, downloads, bucket copies) go through {@link BulkHttp} instead.
 */
@ApplicationScoped
public class HttpClients {

    @Inject
    HubConfig config;

    @Produces
    @Singleton
    HttpClient httpClient() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(config.http().connectTimeout())
                .followRedirects(HttpClient.Redirect.NORMAL)
                .executor(Executors.newCachedThreadPool(r -> {
                    Thread t = new Thread(r, "dubhub-http");
                    t.setDaemon(true);
                    return t;
                }))
                .build();
    }
}

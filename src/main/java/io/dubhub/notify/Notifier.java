package io.dubhub.notify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.http.UrlPolicy;
import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Job;
import io.dubhub.job.JobOutput;
import io.dubhub.ledger.JobLedger;
import io.dubhub.notify.NotificationOutbox.Notification;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.jboss.logging.Logger;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * Announces every job end (delivered, partial, failed) as a CloudEvents 1.0 JSON event:
 * appended to {@code <data-dir>/events.jsonl} and POSTed to the watch route's {@code notifyUrl}
 * (else {@code HUB_NOTIFICATIONS_WEBHOOK_URL}), signed with HMAC-SHA256 of the body in
 * {@code X-Dubhub-Signature: sha256=<hex>} when {@code HUB_NOTIFICATIONS_SECRET} is set.
 * Delivery is at least once: receivers dedupe by the event id ({@code <job id>.<event>}).
 */
@ApplicationScoped
@Named("notifier")
public class Notifier {

    private static final Logger LOG = Logger.getLogger(Notifier.class);
    public static final String CONTENT_TYPE = "application/cloudevents+json";
    public static final String SIGNATURE_HEADER = "X-Dubhub-Signature";

    @Inject
    NotificationOutbox outbox;

    @Inject
    JobLedger ledger;

    @Inject
    HubConfig config;

    @Inject
    HttpClient http;

    @Inject
    CamelContext camel;

    @Inject
    ObjectMapper json;

    /** Timer entry point (routes/pipeline/notify.camel.yaml): sends what is due. */
    public int sendDue() {
        int sent = 0;
        for (Notification n : outbox.claimDue(50, Math.max(30, config.notifications().timeout().toSeconds() * 2))) {
            try {
                if (send(n)) {
                    sent++;
                }
            } catch (RuntimeException e) {
                LOG.errorf("Notification %s could not be sent: %s", n.id(), e.getMessage());
                later(n, n.url(), e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        return sent;
    }

    private boolean send(Notification n) {
        Job job = ledger.find(n.jobId()).orElse(null);
        if (job == null) {
            outbox.skipped(n.id(), "job no longer in the ledger");
            return false;
        }
        byte[] body = event(job, n.eventType()).getBytes(StandardCharsets.UTF_8);
        if ("events-log".equals(n.target())) {
            appendToEventsLog(body);
            outbox.sent(n.id(), null);
            return true;
        }
        String url = n.url() != null ? n.url() : webhookFor(job).orElse(null);
        if (url == null) {
            outbox.skipped(n.id(), "no notifyUrl on route " + job.routeId() + " and no HUB_NOTIFICATIONS_WEBHOOK_URL");
            return false;
        }
        if (!UrlPolicy.httpsOrLoopback(url)) {
            outbox.dead(n.id(), url, UrlPolicy.rule("notifyUrl of route " + job.routeId(), url));
            LOG.errorf("Notification %s not sent: %s", n.id(), UrlPolicy.rule("notifyUrl of route " + job.routeId(), url));
            return false;
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
                .timeout(config.notifications().timeout())
                .header("Content-Type", CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        config.notifications().secret().filter(s -> !s.isBlank()).ifPresent(secret -> request.header(SIGNATURE_HEADER, "sha256=" + sign(secret, body)));
        try {
            HttpResponse<String> answer = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() / 100 == 2) {
                outbox.sent(n.id(), url);
                LOG.debugf("Notification %s sent to %s", n.id(), UrlRedactor.redact(url));
                return true;
            }
            later(n, url, "HTTP " + answer.statusCode() + " from " + UrlRedactor.redact(url));
        } catch (IOException e) {
            later(n, url, e.getClass().getSimpleName() + " from " + UrlRedactor.redact(url) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            later(n, url, "interrupted");
        }
        return false;
    }

    private void later(Notification n, String url, String error) {
        int attempt = n.attempts() + 1;
        if (attempt >= config.notifications().maxAttempts()) {
            outbox.dead(n.id(), url, error);
            LOG.errorf("Notification %s given up after %d attempts: %s", n.id(), attempt, error);
            return;
        }
        long seconds = Math.min(config.notifications().maxBackoff().toSeconds(), 1L << Math.min(20, attempt));
        outbox.retryLater(n.id(), url, Instant.now().plusSeconds(seconds), error);
        LOG.warnf("Notification %s failed (attempt %d): %s; again in %d s", n.id(), attempt, error, seconds);
    }

    /** The route's own notifyUrl (a watch-template parameter), else the hub-wide webhook. */
    Optional<String> webhookFor(Job job) {
        if (camel instanceof ModelCamelContext model) {
            RouteDefinition route = model.getRouteDefinition(job.routeId());
            Object url = route == null || route.getTemplateParameters() == null ? null : route.getTemplateParameters().get("notifyUrl");
            if (url != null && !url.toString().isBlank()) {
                return Optional.of(url.toString().trim());
            }
        }
        return config.notifications().webhookUrl().filter(u -> !u.isBlank());
    }

    /** One CloudEvents 1.0 event in structured JSON mode; data is a summary, the manifest has the rest. */
    String event(Job job, String eventType) {
        ObjectNode e = json.createObjectNode();
        e.put("specversion", "1.0");
        e.put("id", job.id() + "." + eventType);
        e.put("source", "dubhub/" + job.routeId());
        e.put("type", "io.dubhub.job." + eventType);
        e.put("subject", job.id());
        e.put("time", String.valueOf(job.finishedAt() != null ? job.finishedAt() : Instant.now()));
        e.put("datacontenttype", "application/json");
        ObjectNode data = e.putObject("data");
        data.put("jobId", job.id());
        data.put("provider", job.provider());
        data.put("route", job.routeId());
        data.put("state", job.state().name().toLowerCase(Locale.ROOT));
        data.put("source", job.sourceName());
        data.put("sha256", job.sourceSha256());
        if (job.reason() != null) {
            data.put("reason", UrlRedactor.redact(job.reason()));
        }
        if (job.outboxDir() != null) {
            data.put("outbox", "outbox/" + job.outboxDir());
            data.put("manifest", "outbox/" + job.outboxDir() + "/job.json");
        }
        if (job.credits() != null) {
            data.put("credits", job.credits());
        }
        ArrayNode outputs = data.putArray("outputs");
        for (JobOutput o : ledger.outputs(job.id())) {
            outputs.addObject().put("language", o.language()).put("type", o.type()).put("path", o.path()).put("bytes", o.bytes())
                    .put("sha256", o.sha256());
        }
        return e.toString();
    }

    /** One line per event, appended whole and forced to disk before the row is marked sent. */
    private synchronized void appendToEventsLog(byte[] event) {
        Path log = Path.of(config.dataDir(), "events.jsonl");
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                ByteBuffer line = ByteBuffer.allocate(event.length + 1).put(event).put((byte) '\n').flip();
                while (line.hasRemaining()) {
                    ch.write(line);
                }
                ch.force(false);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot append to " + log, e);
        }
    }

    static String sign(String secret, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}

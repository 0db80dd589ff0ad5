package io.dubhub.sandbox;

import io.dubhub.config.HubConfig;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * The sandbox's first impression: a generated demo video is dropped into each enabled
 * provider's inbox, once, so a newcomer sees a job go all the way to data/outbox/ without
 * finding a video first. Not dropped again once delivered (its source sits in done/).
 */
@ApplicationScoped
public class DemoInbox {

    private static final Logger LOG = Logger.getLogger(DemoInbox.class);

    @Inject
    HubConfig config;

    @Inject
    ProviderRegistry providers;

    void drop(@Observes StartupEvent event) {
        if (!config.sandbox().enabled() || !config.sandbox().demoInbox()) {
            return;
        }
        for (ProviderAdapter provider : providers.all().values()) {
            if (!provider.enabled()) {
                continue;
            }
            String name = "demo-" + provider.id() + ".mp4";
            Path inbox = Path.of(config.dataDir(), "inbox", provider.id());
            Path done = Path.of(config.dataDir(), "done", provider.id(), name);
            Path failed = Path.of(config.dataDir(), "failed", provider.id(), name);
            if (Files.exists(inbox.resolve(name)) || Files.exists(done) || Files.exists(failed)) {
                continue;
            }
            try {
                Files.createDirectories(inbox);
                // Written beside the inbox and moved in, so the watcher never sees half a file.
                Path staging = Files.createTempFile(Path.of(config.dataDir()), ".demo-", ".mp4");
                // Vugola clips videos of 5 min to 2 h, in their own language: its demo is longer and has one language
                boolean clips = provider.id().equals("vugola");
                SyntheticVideo.writeMp4(staging, clips ? Duration.ofMinutes(6) : Duration.ofSeconds(42), 1280, 720, 2 * 1024 * 1024);
                Files.writeString(inbox.resolve(name + ".job.json"), clips
                                ? "{\n  \"targetLanguages\": [\"en\"],\n  \"title\": \"dubhub demo\"\n}\n"
                                : "{\n  \"sourceLanguage\": \"en\",\n  \"targetLanguages\": [\"es\", \"de\"],\n  \"title\": \"dubhub demo\"\n}\n",
                        StandardCharsets.UTF_8);
                Files.move(staging, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
                LOG.infof("Sandbox: dropped %s into %s (%s); watch data/outbox/demo-%s/", name, inbox, clips ? "6 min, clips" : "en → es, de",
                        provider.id());
            } catch (IOException e) {
                LOG.warnf("Sandbox: could not drop the demo video for %s: %s", provider.id(), e.getMessage());
            }
        }
    }
}

package io.lookalike.testkit.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * The bean that Apicurio's config-index Quarkus extension would generate at build time (its
 * -deployment artifact is not on Maven Central): the list of properties editable at run time
 * through the registry's admin API, here none. The tests configure the registry by its REST API
 * (subject compatibility levels), which does not need them.
 */
public class EmptyDynamicConfigProperties {

  @Produces
  @Singleton
  DynamicConfigPropertyList dynamicConfigProperties() {
    return new DynamicConfigPropertyList(List.of());
  }
}

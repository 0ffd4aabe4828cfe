package io.lookalike.local;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The floor plan, checked on the compiled classes of every module (deploy/local sees them all):
 * libraries use only libraries below them, a stage uses libraries and schemas but never another
 * stage, the model lifecycle sits above the stages it runs, and only deploy/local wires everything
 * together. A new import that crosses a line fails here with the class and the import named; the
 * poms keep the same graph (docs/modules.md).
 */
class ModuleBoundariesTest {

  /**
   * Package of each module's main classes, and the modules' packages it may use besides its own.
   */
  private static final List<Module> MODULES =
      List.of(
          new Module("schemas", "io.lookalike.schemas.."),
          new Module("image-safety", "io.lookalike.image.."),
          new Module("model", "io.lookalike.model..", "image-safety"),
          new Module("vector-store", "io.lookalike.store..", "schemas"),
          new Module("ingest-connector", "io.lookalike.ingest..", "schemas", "image-safety"),
          new Module("embedder-stream", "io.lookalike.embedder..", "schemas", "model"),
          new Module("indexer-sink", "io.lookalike.indexer..", "schemas", "vector-store"),
          new Module(
              "query-gateway",
              "io.lookalike.gateway..",
              "schemas",
              "image-safety",
              "model",
              "vector-store"),
          new Module(
              "model-lifecycle",
              "io.lookalike.lifecycle..",
              "schemas",
              "image-safety",
              "model",
              "vector-store",
              "embedder-stream",
              "indexer-sink",
              "query-gateway"),
          new Module(
              "deploy/local",
              "io.lookalike.local..",
              "schemas",
              "image-safety",
              "model",
              "vector-store",
              "ingest-connector",
              "embedder-stream",
              "indexer-sink",
              "query-gateway",
              "model-lifecycle"));

  private static final String TESTKIT = "io.lookalike.testkit..";

  private static JavaClasses mainClasses;

  record Module(String name, String pkg, String... uses) {
    @Override
    public String toString() {
      return name;
    }

    String[] allowedPackages() {
      return Stream.concat(Stream.of(pkg), Arrays.stream(uses).map(ModuleBoundariesTest::packageOf))
          .toArray(String[]::new);
    }
  }

  @BeforeAll
  static void importMainClasses() {
    // Main classes only: test classes (also those of the vector-store test-jar) and testkit may use
    // fixtures
    // freely. src/test/resources/archunit.properties keeps ArchUnit from importing every class ours
    // refer to.
    mainClasses =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(
                location -> !location.contains("-tests.jar") && !location.contains("testkit"))
            .importPackages("io.lookalike");
  }

  static Stream<Arguments> modules() {
    return MODULES.stream().map(Arguments::of);
  }

  @ParameterizedTest(name = "{0} uses only the modules below it")
  @MethodSource("modules")
  void shouldUseOnlyTheModulesBelowIt(Module module) {
    noClasses()
        .that()
        .resideInAPackage(module.pkg())
        .should()
        .dependOnClassesThat(
            resideInAPackage("io.lookalike..")
                .and(not(resideInAnyPackage(module.allowedPackages()))))
        .because(
            module.name()
                + " may use only "
                + (module.uses().length == 0 ? "itself" : String.join(", ", module.uses()))
                + " (docs/modules.md)")
        .check(mainClasses);
  }

  @Test
  void shouldKeepTheGatewayOffTheFetcherTheEmbedderAndTheSink() {
    noClasses()
        .that()
        .resideInAPackage("io.lookalike.gateway..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.lookalike.ingest..",
            "io.lookalike.embedder..",
            "io.lookalike.indexer..",
            "io.lookalike.lifecycle..",
            "io.lookalike.local..")
        .because(
            "the gateway depends on libraries (image safety, model, vector store), never on stages")
        .check(mainClasses);
  }

  @Test
  void shouldKeepTestFixturesOutOfProductionCode() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAPackage(TESTKIT)
        .because("testkit is a test-scoped module")
        .check(mainClasses);
  }

  @Test
  void shouldPlaceEveryClassInAKnownModule() {
    classes()
        .that()
        .resideInAPackage("io.lookalike..")
        .should()
        .resideInAnyPackage(MODULES.stream().map(Module::pkg).toArray(String[]::new))
        .because("a new package needs its place in the floor plan (this test and docs/modules.md)")
        .check(mainClasses);
  }

  private static String packageOf(String module) {
    return MODULES.stream()
        .filter(m -> m.name().equals(module))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown module " + module))
        .pkg();
  }
}

# The contract with a new user (README): `make serve` and `make test` work on a fresh machine.
#   make deps    install every Debian package in deps/debian.txt (idempotent)
#   make tools-deps  also what tools/ needs to regenerate fixtures (python3-torch, python3-onnx)
#   make build   deps + configure + build -> build/seer
#   make models  the nsfwjs 4.4.0 classifiers as TF.js folders in MODELS_DIR (npm, once; see
#                tools/nsfwjs/FORMAT.md): MODELS_DIR defaults to $SEER_MODELS_DIR, else the
#                models dir seer serve uses ($XDG_DATA_HOME or ~/.local/share, /seer/models)
#   make test    deps + build + models + every ctest label (unit, model, e2e, fuzz)
#   make serve   deps + build + models + build/seer serve with the defaults
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
MODELS_DIR ?= $(or $(SEER_MODELS_DIR),$(or $(XDG_DATA_HOME),$(HOME)/.local/share)/seer/models)
ifdef CI
CMAKE_FLAGS += -DSEER_WERROR=ON
endif

.PHONY: all deps tools-deps configure build models test unit serve format clean

all: build

deps:
	@bash scripts/deps.sh deps/debian.txt

tools-deps:
	@bash scripts/deps.sh deps/debian-tools.txt

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

models:
	bash tools/nsfwjs/setup.sh "$(MODELS_DIR)"

test: build models
	cd $(BUILD) && SEER_MODELS_DIR="$(MODELS_DIR)" ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

serve: build models
	SEER_MODELS_DIR="$(MODELS_DIR)" $(BUILD)/seer serve

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)

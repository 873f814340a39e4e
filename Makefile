# The contract with a new user (README): `make serve` and `make test` work on a fresh machine.
#   make deps    install every Debian package in deps/debian.txt (idempotent)
#   make tools-deps  also what tools/ needs to regenerate fixtures (python3-torch, python3-onnx)
#   make build   deps + configure + build -> build/seer
#   make test    deps + build + fixtures + every ctest label (unit, model, e2e, fuzz)
#   make serve   deps + build + build/seer serve with the defaults
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
ifdef CI
CMAKE_FLAGS += -DSEER_WERROR=ON
endif

.PHONY: all deps tools-deps configure build test unit serve format clean

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

serve: build
	$(BUILD)/seer serve

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)

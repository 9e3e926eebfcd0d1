# Install the exported targets and a package config so that a user project can
#   find_package(heatblast CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE heatblast::heatblast)
include(CMakePackageConfigHelpers)
set(HEATBLAST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/heatblast)

install(EXPORT heatblastTargets NAMESPACE heatblast:: DESTINATION ${HEATBLAST_CMAKE_DIR}
        FILE heatblastTargets.cmake)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/heatblastConfig.cmake.in
  ${PROJECT_BINARY_DIR}/heatblastConfig.cmake
  INSTALL_DESTINATION ${HEATBLAST_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/heatblastConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/heatblastConfig.cmake
              ${PROJECT_BINARY_DIR}/heatblastConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindZooKeeper.cmake
        DESTINATION ${HEATBLAST_CMAKE_DIR})

# The build tree is a package too (find_package with heatblast_DIR=<build>).
export(EXPORT heatblastTargets NAMESPACE heatblast:: FILE ${PROJECT_BINARY_DIR}/heatblastTargets.cmake)
configure_file(${PROJECT_SOURCE_DIR}/cmake/FindZooKeeper.cmake ${PROJECT_BINARY_DIR}/FindZooKeeper.cmake COPYONLY)

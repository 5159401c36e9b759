# wsus-shim.exe as a Windows service in Wine's service control manager.
wsus_wine_test(wine_shim_service test_shim_service.py)
